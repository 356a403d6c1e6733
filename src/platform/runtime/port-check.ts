import { createServer } from 'node:net';
import { StartupRefusal } from './startup-refusal';

/** The refusal for an error listening on PORT (taken, or privileged), or null for any other error. */
export function portRefusal(error: unknown, port: number, host: string): StartupRefusal | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return new StartupRefusal(`PORT ${port} on ${host} is in use by another process. Stop it, or set PORT to a free one.`);
  if (code === 'EACCES') return new StartupRefusal(`PORT ${port} on ${host} needs privileges this process does not have. Set PORT to one above 1023.`);
  return null;
}

/**
 * Refuses a PORT that cannot be listened on before the service touches its database. Found only
 * when the HTTP server listens, it came after the migrations: an upgrade started while the old
 * release still served on the port migrated the database under the old release, then stopped,
 * leaving the old one running on a schema it was not written for. Listening for real still
 * checks again (another process may take the port in between). PORT 0 picks a free port: nothing
 * to check.
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => reject(portRefusal(error, port, host) ?? error));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
