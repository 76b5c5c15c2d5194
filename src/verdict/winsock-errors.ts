/** Names of the Winsock error codes the scenarios meet, for messages people can search for. */
const NAMES: Record<number, string> = {
  10004: 'WSAEINTR',
  10009: 'WSAEBADF',
  10013: 'WSAEACCES',
  10014: 'WSAEFAULT',
  10022: 'WSAEINVAL',
  10024: 'WSAEMFILE',
  10035: 'WSAEWOULDBLOCK',
  10038: 'WSAENOTSOCK',
  10047: 'WSAEAFNOSUPPORT',
  10048: 'WSAEADDRINUSE',
  10049: 'WSAEADDRNOTAVAIL',
  10050: 'WSAENETDOWN',
  10051: 'WSAENETUNREACH',
  10053: 'WSAECONNABORTED',
  10054: 'WSAECONNRESET',
  10055: 'WSAENOBUFS',
  10057: 'WSAENOTCONN',
  10060: 'WSAETIMEDOUT',
  10061: 'WSAECONNREFUSED',
  10065: 'WSAEHOSTUNREACH',
  10091: 'WSASYSNOTREADY',
  10092: 'WSAVERNOTSUPPORTED',
  10093: 'WSANOTINITIALISED',
};

export const WSAENOBUFS = 10055;
export const WSAEADDRINUSE = 10048;

/** `WSAENOBUFS (10055)`, or the bare number for codes outside Winsock's range (GetLastError values). */
export function describeWinsockError(code: number): string {
  const name = NAMES[code];
  return name === undefined ? `error ${code}` : `${name} (${code})`;
}
