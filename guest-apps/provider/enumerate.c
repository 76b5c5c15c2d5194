/* provider_enumerate and provider_fields: see provider.h. */
#include "rt.h"
#include "provider.h"

int provider_enumerate(WSAPROTOCOL_INFOA **list, int *count)
{
    DWORD size = 0;
    int n, err;
    *list = 0;
    *count = 0;
    /* The first call only asks for the size (it fails with WSAENOBUFS). */
    if (WSAEnumProtocolsA(0, 0, &size) != SOCKET_ERROR) {
        return 0;
    }
    err = WSAGetLastError();
    if (err != WSAENOBUFS) {
        return err;
    }
    *list = (WSAPROTOCOL_INFOA *)rt_alloc((unsigned)size);
    if (!*list) {
        return (int)GetLastError();
    }
    n = WSAEnumProtocolsA(0, *list, &size);
    if (n == SOCKET_ERROR) {
        err = WSAGetLastError();
        rt_free(*list);
        *list = 0;
        return err;
    }
    *count = n;
    return 0;
}

unsigned provider_fields(char *buf, unsigned size, const WSAPROTOCOL_INFOA *p)
{
    char name[WSAPROTOCOL_LEN + 1];
    unsigned i;
    rt_strlcpy(name, p->szProtocol, sizeof name);
    for (i = 0; name[i]; i++) {
        if (name[i] == ' ' || name[i] == '\t') {
            name[i] = '_';
        }
    }
    return (unsigned)rt_fmt(buf, size, "catalog_id=%lu af=%d type=%d protocol=%d chain_len=%d flags1=0x%lx name=%s",
                            (unsigned long)p->dwCatalogEntryId, p->iAddressFamily, p->iSocketType, p->iProtocol,
                            p->ProtocolChain.ChainLen, (unsigned long)p->dwServiceFlags1, name[0] ? name : "-");
}
