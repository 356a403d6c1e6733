import { toString as qrToString } from 'qrcode';
import { type StaticFile, staticFile, SVG_POLICY } from './dashboard-files';

/**
 * The operator address as a QR code, an SVG drawn on the server with `qrcode`. It encodes
 * `ban:<address>`, the URI Banano wallets (Kalium, Banano Vault) open as "send to", like Nano's
 * `nano:` scheme; the address alone is shown as text beside it. The last drawing is kept: the
 * address changes only when an admin stores another operator seed.
 */
export class OperatorQrCodes {
  private last: { readonly address: string; readonly file: StaticFile } | null = null;

  async forAddress(address: string): Promise<StaticFile> {
    if (this.last?.address === address) return this.last.file;
    const svg = await qrToString(`ban:${address}`, {
      type: 'svg',
      // M recovers 15 % of the code: enough for a screen photographed at an angle, small enough to stay sharp.
      errorCorrectionLevel: 'M',
      // The quiet zone scanners need, in modules.
      margin: 4,
      width: 240,
      color: { dark: '#000000', light: '#ffffff' },
    });
    // Revalidated on every load: when the address changes, the same URL draws the new one.
    const file = staticFile(Buffer.from(svg, 'utf8'), 'image/svg+xml', 'no-cache', { 'content-security-policy': SVG_POLICY });
    this.last = { address, file };
    return file;
  }
}
