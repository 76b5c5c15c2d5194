import { waitFor, WaitTimeoutError, type WaitOptions } from '../wait/wait-for.ts';
import { AgentProtocolError, AgentTimeoutError } from './errors.ts';
import { PROTOCOL_VERSION, type Frame } from './frame-codec.ts';
import { parseBanner, type AgentBanner } from './messages.ts';

/**
 * Readiness of the agent, on any line (the Wine container's serial socket, a
 * QEMU guest's COM1): `sayHello` sends one HELLO and resolves with the banner
 * frame, or fails with AgentTimeoutError when nothing answered in time (the
 * guest is still booting: say it again, a little later each time, up to 1 s
 * apart). Any other failure is an answer that will not get better and ends
 * the wait. A banner of another protocol version is refused with the fix.
 */
export async function waitForAgentBanner(sayHello: (signal: AbortSignal) => Promise<Frame>, options: WaitOptions): Promise<AgentBanner> {
  let frame: Frame;
  try {
    frame = await waitFor("the agent's banner (HELLO)", sayHello, {
      ...options,
      firstDelayMs: 100,
      maxDelayMs: 1_000,
      factor: 1.5,
      retryIf: (error) => error instanceof AgentTimeoutError,
    });
  } catch (error) {
    if (error instanceof WaitTimeoutError)
      throw new AgentTimeoutError('HELLO (handshake)', error.attempts, error.elapsedMs, { cause: error });
    throw error;
  }
  const banner = parseBanner(frame.payload);
  if (banner.protocolVersion !== PROTOCOL_VERSION) {
    throw new AgentProtocolError(
      `the agent speaks protocol version ${banner.protocolVersion} (${banner.text}); this client speaks ${PROTOCOL_VERSION}: rebuild the agent (npm run build:guest) and redeploy it`,
      { context: { banner } },
    );
  }
  return banner;
}
