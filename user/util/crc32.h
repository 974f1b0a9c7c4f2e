/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CRC-32 as zlib's crc32() computes it, faster where the CPU multiplies carry-less. */
#ifndef MPTRACE_CRC32_H
#define MPTRACE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* zlib's crc32(@crc, @buf, @len): 0 to begin, the last result to go on. */
uint32_t mpt_crc32(uint32_t crc, const void *buf, size_t len);

#endif /* MPTRACE_CRC32_H */
