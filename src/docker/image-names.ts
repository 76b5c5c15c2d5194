/** Names of the images retrolab builds locally. Each is also tagged with the hash of its inputs. */
export const RUNNER_IMAGES = {
  qemu: 'retrolab/qemu-runner:latest',
  wine: 'retrolab/wine-runner:latest',
} as const;

export const BASE_IMAGES = {
  amd64: 'retrolab/base-bookworm-amd64',
  i386: 'retrolab/base-bookworm-i386',
} as const;
