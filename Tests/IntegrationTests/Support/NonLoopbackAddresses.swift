import Foundation

/// This machine's IPv4 addresses other than loopback (where a service bound to 127.0.0.1 must not answer).
func nonLoopbackAddresses() -> [String] {
    Host.current().addresses.filter { $0.contains(".") && !$0.contains(":") && !$0.hasPrefix("127.") }
}
