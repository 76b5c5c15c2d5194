/* provider_choose: see provider.h. No Winsock calls here: the host tests it. */
#include "provider.h"

static int plain_tcp(const WSAPROTOCOL_INFOA *p)
{
    return p->iAddressFamily == AF_INET && p->iSocketType == SOCK_STREAM && p->iProtocol == IPPROTO_TCP &&
           (p->dwServiceFlags1 & XP1_GUARANTEED_DELIVERY) != 0 && (p->dwServiceFlags1 & XP1_QOS_SUPPORTED) == 0 &&
           p->ProtocolChain.ChainLen != LAYERED_PROTOCOL;
}

int provider_choose(const WSAPROTOCOL_INFOA *list, int count)
{
    int i, chain = -1;
    for (i = 0; i < count; i++) {
        if (!plain_tcp(&list[i])) {
            continue;
        }
        if (list[i].ProtocolChain.ChainLen == BASE_PROTOCOL) {
            return i;
        }
        if (chain < 0) {
            chain = i;
        }
    }
    return chain;
}
