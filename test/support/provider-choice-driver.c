/*
 * Host-side driver for guest-apps/provider/choose.c: reads one provider a
 * line from stdin, "catalog_id af type protocol flags1 chain_len name" (flags1
 * in hex, the name without spaces), fills a WSAPROTOCOL_INFOA array with them
 * and prints "index=N" for provider_choose's answer (-1: none fits).
 * Built and run by test/unit/provider-choice.test.ts with the host's gcc.
 */
#include <stdio.h>
#include <string.h>
#include "provider.h"

#define MAX_ENTRIES 64

int main(void)
{
    static WSAPROTOCOL_INFOA list[MAX_ENTRIES];
    char line[512];
    int count = 0;
    while (fgets(line, sizeof line, stdin)) {
        WSAPROTOCOL_INFOA *p;
        unsigned long catalog, flags;
        int af, type, protocol, chain;
        char name[WSAPROTOCOL_LEN + 1];
        if (line[0] == '\n') {
            continue;
        }
        if (count == MAX_ENTRIES ||
            sscanf(line, "%lu %d %d %d %lx %d %255s", &catalog, &af, &type, &protocol, &flags, &chain, name) != 7) {
            fprintf(stderr, "bad provider line %d: %s", count + 1, line);
            return 2;
        }
        p = &list[count++];
        memset(p, 0, sizeof *p);
        p->dwCatalogEntryId = (DWORD)catalog;
        p->iAddressFamily = af;
        p->iSocketType = type;
        p->iProtocol = protocol;
        p->dwServiceFlags1 = (DWORD)flags;
        p->ProtocolChain.ChainLen = chain;
        strcpy(p->szProtocol, name);
    }
    printf("index=%d\n", provider_choose(list, count));
    return 0;
}
