/* CRC-32 (IEEE, zlib's crc32): reflected 0xEDB88320, init and final XOR all ones. */
#include "agent.h"

static unsigned long table[256];

void crc32_init(void)
{
    unsigned long c;
    int n, k;
    for (n = 0; n < 256; n++) {
        c = (unsigned long)n;
        for (k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320UL ^ (c >> 1) : c >> 1;
        }
        table[n] = c;
    }
}

/* Continues a CRC: pass 0 to start, or the previous result. */
unsigned long crc32_update(unsigned long crc, const unsigned char *p, unsigned long n)
{
    unsigned long c = crc ^ 0xFFFFFFFFUL;
    while (n--) {
        c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    }
    return (c ^ 0xFFFFFFFFUL) & 0xFFFFFFFFUL;
}
