import { X509Certificate } from 'node:crypto';
import type { CertificateFacts } from '../domain/certificateExpiry';

/** Reads a certificate given as PEM or bare base64 DER; undefined when it is not one. */
export function parseCertificate(text: string): X509Certificate | undefined {
  const body = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  try {
    return new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * The fingerprint and end of validity of a certificate (PEM or base64 DER); undefined when it is
 * not one. Node 20 gives `validTo` as text in the fixed X.509 form ("Dec  7 19:54:13 2026 GMT").
 */
export function certificateFacts(text: string): CertificateFacts | undefined {
  const certificate = parseCertificate(text);
  if (!certificate) return undefined;
  const notAfter = new Date(certificate.validTo);
  if (Number.isNaN(notAfter.getTime())) return undefined;
  return { sha256: certificate.fingerprint256, notAfter };
}
