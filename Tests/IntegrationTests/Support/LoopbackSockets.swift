import Foundation
import TestSupport

/// Raw TCP on 127.0.0.1 for the tests' own servers (a webhook that never answers, a proxy that cuts).
enum LoopbackSockets {
    /// A socket listening on a free loopback port.
    static func listen(for purpose: String) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        for _ in 0..<20 {
            let port = try freeLoopbackPort()
            var address = address(port: port)
            let bound = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            if bound, Glibc.listen(fd, 16) == 0 { return (fd, port) }
        }
        close(fd)
        throw TestSetupError(message: "\(purpose) could not listen on a loopback port")
    }

    /// A socket connected to `port` on 127.0.0.1, or nil.
    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = address(port: port)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(fd)
            return nil
        }
        return fd
    }

    private static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }
}
