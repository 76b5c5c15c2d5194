import '../../src/util/dispose.ts';
import { connectDocker } from '../../src/docker/docker-client.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';

/**
 * Integration and e2e tests need a real engine and the runner images. `npm test`
 * builds them in its pre-step; when they are missing anyway, fail at once with
 * the fix instead of letting every test time out.
 */
export default async function setup(): Promise<void> {
  let docker;
  try {
    docker = await connectDocker();
  } catch (error) {
    throw new Error(
      `Integration tests need a Docker engine: ${error instanceof Error ? error.message : String(error)}\n` +
        'Run `npm run setup` as root (installs packages, starts dockerd, builds images).',
      { cause: error },
    );
  }
  await using client = docker;
  const missing: string[] = [];
  for (const ref of Object.values(RUNNER_IMAGES)) if (!(await client.imageExists(ref))) missing.push(ref);
  if (missing.length > 0) {
    throw new Error(`Integration tests need the runner images ${missing.join(', ')}. Run \`npm run setup\` to build them.`);
  }
  const swept = await client.sweep();
  if (swept.containers.length > 0 || swept.volumes.length > 0) {
    console.warn(`swept leftovers of killed runs: ${swept.containers.length} container(s), ${swept.volumes.length} volume(s)`);
  }
}
