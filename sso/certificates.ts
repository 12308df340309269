import { X509Certificate } from 'node:crypto';

/** Reads a certificate given as PEM or bare base64 DER; undefined when it is not one. */
export function parseCertificate(text: string): X509Certificate | undefined {
  const body = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  try {
    return new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    return undefined;
  }
}
