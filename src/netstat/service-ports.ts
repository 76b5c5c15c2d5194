/**
 * Service names NETSTAT prints in place of port numbers when run without -n,
 * from the `services` file of the system it ran on. Windows 95/98 and NT 4
 * name the NetBIOS ports nbname, nbdatagram and nbsession and 135 loc-srv;
 * later systems say netbios-ns/-dgm/-ssn and epmap. The rest are the
 * well-known IANA names those files share.
 */
const TCP_AND_UDP: ReadonlyMap<string, number> = new Map(
  Object.entries({
    echo: 7,
    discard: 9,
    daytime: 13,
    qotd: 17,
    chargen: 19,
    'ftp-data': 20,
    ftp: 21,
    ssh: 22,
    telnet: 23,
    smtp: 25,
    time: 37,
    nameserver: 42,
    nicname: 43,
    whois: 43,
    domain: 53,
    bootps: 67,
    bootpc: 68,
    tftp: 69,
    gopher: 70,
    finger: 79,
    http: 80,
    www: 80,
    'www-http': 80,
    kerberos: 88,
    pop2: 109,
    pop3: 110,
    sunrpc: 111,
    auth: 113,
    nntp: 119,
    ntp: 123,
    epmap: 135,
    'loc-srv': 135,
    nbname: 137,
    'netbios-ns': 137,
    nbdatagram: 138,
    'netbios-dgm': 138,
    nbsession: 139,
    'netbios-ssn': 139,
    imap: 143,
    imap4: 143,
    snmp: 161,
    snmptrap: 162,
    'snmp-trap': 162,
    ldap: 389,
    https: 443,
    'microsoft-ds': 445,
    isakmp: 500,
    printer: 515,
    'ms-sql-s': 1433,
    'ms-sql-m': 1434,
  }),
);

/** 512–514 name different services over TCP and UDP. */
const TCP_ONLY: ReadonlyMap<string, number> = new Map(Object.entries({ exec: 512, login: 513, shell: 514, cmd: 514 }));
const UDP_ONLY: ReadonlyMap<string, number> = new Map(Object.entries({ biff: 512, who: 513, syslog: 514 }));

/** The port a service name stands for, or undefined for a name this table does not know (it is then kept as written). */
export function servicePort(name: string, proto: 'TCP' | 'UDP'): number | undefined {
  const key = name.toLowerCase();
  return TCP_AND_UDP.get(key) ?? (proto === 'TCP' ? TCP_ONLY : UDP_ONLY).get(key);
}
