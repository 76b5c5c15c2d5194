import { RetrolabError } from '../errors.ts';

/** No Docker engine answers at the endpoint retrolab was pointed at. */
export class DockerUnavailableError extends RetrolabError {
  constructor(readonly endpoint: string, cause: unknown) {
    super(
      `No Docker engine answers at ${endpoint}.\n  fix: run \`bash scripts/host-setup.sh\` as root (it starts dockerd), or set DOCKER_HOST to an engine that runs`,
      { cause, context: { endpoint } },
    );
  }
}

export class ImageBuildError extends RetrolabError {
  constructor(readonly image: string, readonly contextDir: string, readonly logTail: string[], cause?: unknown) {
    super(`Building image ${image} from ${contextDir} failed:\n${logTail.map((l) => `  | ${l}`).join('\n')}`, {
      cause,
      context: { image, contextDir },
    });
  }
}

export class ImageMissingError extends RetrolabError {
  constructor(readonly image: string) {
    super(`Image ${image} is not on this Docker engine.\n  fix: run \`npm run setup\` (builds every runner image that is missing)`, {
      context: { image },
    });
  }
}

/** The engine refused or failed an operation on a container (not: the program inside exited non-zero). */
export class ContainerError extends RetrolabError {
  constructor(message: string, readonly image: string, readonly containerId: string | undefined, cause?: unknown) {
    super(message, { cause, context: { image, containerId } });
  }
}
