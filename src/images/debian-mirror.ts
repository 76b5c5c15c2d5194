import { readFile } from 'node:fs/promises';

const FALLBACK = 'http://deb.debian.org/debian';

/**
 * The Debian mirror to bootstrap from: RETROLAB_DEBIAN_MIRROR, else the first
 * main-archive URI this host's apt uses, else deb.debian.org.
 */
export async function debianMirror(): Promise<string> {
  const fromEnv = process.env.RETROLAB_DEBIAN_MIRROR;
  if (fromEnv) return fromEnv;
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const uri = text
      .split('\n')
      .map((l) => l.trim())
      .flatMap((l) => (l.startsWith('URIs:') ? l.slice(5).trim().split(/\s+/) : l.startsWith('deb ') ? [l.split(/\s+/)[1] ?? ''] : []))
      .find((u) => /^https?:\/\//.test(u) && !u.includes('security'));
    if (uri) return uri.replace(/\/$/, '');
  }
  return FALLBACK;
}
