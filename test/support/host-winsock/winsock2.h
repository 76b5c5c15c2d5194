/*
 * The part of winsock2.h that guest-apps/provider/choose.c reads, for the
 * host's gcc: WSAPROTOCOL_INFOA with the field names, order and constants of
 * the Windows Sockets 2 headers (mingw-w64's and Open Watcom's agree). Only
 * test/unit/provider-choice.test.ts uses it; the guest builds use the
 * toolchains' own header, so a field this file names wrongly breaks them.
 */
#ifndef HOST_WINSOCK2_H
#define HOST_WINSOCK2_H

#include <stdint.h>

typedef uint32_t DWORD;
typedef uint16_t WORD;
typedef char CHAR;

typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    unsigned char Data4[8];
} GUID;

#define AF_INET 2
#define AF_IPX 6
#define AF_INET6 23
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_SEQPACKET 5
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

#define XP1_CONNECTIONLESS 0x00000001
#define XP1_GUARANTEED_DELIVERY 0x00000002
#define XP1_GUARANTEED_ORDER 0x00000004
#define XP1_GRACEFUL_CLOSE 0x00000020
#define XP1_EXPEDITED_DATA 0x00000040
#define XP1_QOS_SUPPORTED 0x00002000
#define XP1_IFS_HANDLES 0x00020000

#define LAYERED_PROTOCOL 0
#define BASE_PROTOCOL 1
#define MAX_PROTOCOL_CHAIN 7
#define WSAPROTOCOL_LEN 255

typedef struct _WSAPROTOCOLCHAIN {
    int ChainLen;
    DWORD ChainEntries[MAX_PROTOCOL_CHAIN];
} WSAPROTOCOLCHAIN;

typedef struct _WSAPROTOCOL_INFOA {
    DWORD dwServiceFlags1;
    DWORD dwServiceFlags2;
    DWORD dwServiceFlags3;
    DWORD dwServiceFlags4;
    DWORD dwProviderFlags;
    GUID ProviderId;
    DWORD dwCatalogEntryId;
    WSAPROTOCOLCHAIN ProtocolChain;
    int iVersion;
    int iAddressFamily;
    int iMaxSockAddr;
    int iMinSockAddr;
    int iSocketType;
    int iProtocol;
    int iProtocolMaxOffset;
    int iNetworkByteOrder;
    int iSecurityScheme;
    DWORD dwMessageSize;
    DWORD dwProviderReserved;
    CHAR szProtocol[WSAPROTOCOL_LEN + 1];
} WSAPROTOCOL_INFOA;

#endif
