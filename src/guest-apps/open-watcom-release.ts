/**
 * The official Open Watcom v2 release retrolab downloads when no Open Watcom
 * is given (WATCOM, RETROLAB_OPENWATCOM_TARBALL, ../shared/toolchains/) and
 * the network allows. A dated `*-Build` release, not `Current-build`: the
 * latter is replaced on every upstream CI run, so no hash could pin it.
 *
 * The sha256 is the one two unrelated public projects pin for this very asset
 * (it could not be fetched from this project's CI, whose network is closed).
 * A download that does not match it is refused, never used.
 */
export interface OpenWatcomRelease {
  tag: string;
  url: string;
  fileName: string;
  sha256: string;
}

export const OPEN_WATCOM_RELEASE: Readonly<OpenWatcomRelease> = {
  tag: '2026-09-01-Build',
  url: 'https://github.com/open-watcom/open-watcom-v2/releases/download/2026-09-01-Build/ow-snapshot.tar.xz',
  /** Where the download is kept in the cache (the asset's own name is the same for every release). */
  fileName: 'ow-snapshot-2026-09-01-Build.tar.xz',
  sha256: 'bac354f3c75ffa49ff8d70a44e475de7e7c1823fff04b80c14787bd0792c9bdf',
};
