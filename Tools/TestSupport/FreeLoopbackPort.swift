import Foundation

/// A TCP port nothing uses right now on 127.0.0.1, below the kernel's ephemeral range.
public func freeLoopbackPort() throws -> Int {
    // Not port 0: the kernel answers from the ephemeral range, where every outgoing connection of the
    // test run (hundreds, to PostgreSQL and the brokers) takes its source port, so a server started on
    // the port a moment later could find it taken (seen in CI: a private mosquitto that never listened).
    // Below that range only a server can hold a port.
    let ephemeralStart = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
        .split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
    let range = 10_000..<max(10_001, min(ephemeralStart, 65_536))
    for _ in 0..<200 {
        let port = Int.random(in: range)
        if try canBindLoopback(port: port) { return port }
    }
    throw TestSupportError("no free loopback port in \(range) after 200 tries")
}

private func canBindLoopback(port: Int) throws -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// A blocking socket connected to 127.0.0.1:`port`, with TCP_NODELAY (requests are small and timed).
public func connectLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("socket() failed: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard connected else {
        let error = errno
        close(fd)
        throw TestSupportError("connect to 127.0.0.1:\(port) failed: errno \(error)")
    }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    return fd
}

/// True when something accepts a TCP connection on 127.0.0.1:`port`.
public func acceptsConnections(port: Int) -> Bool {
    guard let fd = try? connectLoopback(port: port) else { return false }
    close(fd)
    return true
}
