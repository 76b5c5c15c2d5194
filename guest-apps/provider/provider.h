/*
 * provider: the Winsock 2 service provider a program's duplicated sockets are
 * made on.
 *
 * KB Q216603: WSADuplicateSocket fails with WSAEINVAL (10022) on sockets of
 * the QoS-capable TCP and UDP providers (Windows 98 SE, ME, 2000), and
 * socket() may take one of them. So a Winsock 2 program lists the providers
 * (WSAEnumProtocolsA), chooses the plain TCP one and passes its
 * WSAPROTOCOL_INFOA to WSASocketA. Winsock 1.1 programs (wsock32, which
 * Windows 95 without the update has) keep socket(): they must not import
 * WSAEnumProtocolsA.
 *
 * choose.c is pure (it reads the array and nothing else), so the host builds
 * it with gcc and tests it on crafted provider lists
 * (test/unit/provider-choice.test.ts); enumerate.c holds the Winsock calls.
 */
#ifndef PROVIDER_H
#define PROVIDER_H

#include <winsock2.h>

/* The index in list[0..count) of the provider to make TCP sockets on, or -1
 * when none fits. Fits: AF_INET, SOCK_STREAM, IPPROTO_TCP, guaranteed
 * delivery, no QoS support (the KB's failure), and not a layered entry
 * (ChainLen LAYERED_PROTOCOL, which cannot make sockets). A base provider
 * (ChainLen BASE_PROTOCOL) wins over a chain; among equals, the first listed
 * (the catalog's order, which is the order socket() searches). */
int provider_choose(const WSAPROTOCOL_INFOA *list, int count);

/* Lists every provider: *list is heap memory (rt_alloc) holding *count
 * entries. Returns 0, or the error of WSAEnumProtocolsA/HeapAlloc. */
int provider_enumerate(WSAPROTOCOL_INFOA **list, int *count);

/* Formats the key=value fields that describe p (no spaces in any value: the
 * spaces of the name are written as '_'); returns the length written. */
unsigned provider_fields(char *buf, unsigned size, const WSAPROTOCOL_INFOA *p);

#endif
