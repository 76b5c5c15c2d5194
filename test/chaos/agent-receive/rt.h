/*
 * The host's stand-in for guest-apps/rt/rt.h, so that the agent's receiver
 * (guest-apps/agent/receive.c, with crc32.c and bytes.c) builds with the
 * host's gcc for the fuzz in test/chaos/agent-receive.ts. Those files use
 * only memcmp/memmove from rt, which libc has under the same names.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#endif
