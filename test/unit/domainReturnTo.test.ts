import { describe, expect, it } from 'vitest';
import { allowedReturnTo } from '../../domain/returnTo';

const origins = ['https://app.example.com', 'http://127.0.0.1:3000'];
const fallback = 'https://app.example.com/';

describe('returnTo after sign-in', () => {
  it('falls back to the default when none is given', () => {
    expect(allowedReturnTo(undefined, origins, fallback)).toBe(fallback);
    expect(allowedReturnTo('', origins, fallback)).toBe(fallback);
  });

  it('accepts a URL on an allowed origin', () => {
    expect(allowedReturnTo('https://app.example.com/projects?id=1', origins, fallback)).toBe(
      'https://app.example.com/projects?id=1',
    );
    expect(allowedReturnTo('http://127.0.0.1:3000/x', origins, fallback)).toBe('http://127.0.0.1:3000/x');
  });

  it('refuses other hosts, including look-alikes and other ports', () => {
    for (const raw of [
      'https://evil.example.net/',
      'https://app.example.com.evil.net/',
      'https://app.example.com:8443/',
      'http://app.example.com/',
    ]) {
      expect(allowedReturnTo(raw, origins, fallback), raw).toBeUndefined();
    }
  });

  it('refuses protocol-relative, relative and backslash tricks', () => {
    for (const raw of [
      '//evil.example.net/',
      '/\\evil.example.net',
      'https:\\\\evil.example.net',
      '/dashboard',
    ]) {
      expect(allowedReturnTo(raw, origins, fallback), raw).toBeUndefined();
    }
  });

  it('refuses script and data URLs and embedded credentials', () => {
    for (const raw of ['javascript:alert(1)', 'data:text/html,hi', 'https://user:pw@app.example.com/']) {
      expect(allowedReturnTo(raw, origins, fallback), raw).toBeUndefined();
    }
  });
});
