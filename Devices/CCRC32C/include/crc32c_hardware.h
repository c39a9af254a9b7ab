#ifndef CRC32C_HARDWARE_H
#define CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// Nonzero when this CPU has a CRC-32C instruction (x86-64 SSE4.2, or AArch64 CRC).
int crc32c_hardware_available(void);

/// Continues a CRC-32C (reflected, no final xor) over `count` bytes with that instruction.
/// Call only when crc32c_hardware_available() says so.
uint32_t crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count);

#endif
