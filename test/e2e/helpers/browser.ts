// A minimal "browser" for e2e sign-in flows: Node's fetch plus what a browser adds on top that the
// SAML flow depends on: a cookie jar, following redirects, reading HTML forms and submitting them.
//
//   const browser = new Browser();
//   let page = await browser.get(loginUrl);                   // 302s to the IdP's login page
//   page = await browser.submitForm(findLoginForm(page), { username, password });
//   const { form } = findSamlPostForm(page);                  // the IdP's auto-submit form
//   const acs = await browser.submitForm(form, {}, { followRedirects: false });
//
// The HTML parsing is regular expressions over what IdP pages contain (forms with input and
// textarea fields); no scripts run, so auto-submitting forms are submitted by the test.

/** An answer, after any redirects that were followed. */
export interface Page {
  /** The URL that gave this answer. */
  url: string;
  status: number;
  headers: Headers;
  body: string;
  /** Every URL requested, the first one included. */
  visited: string[];
}

export interface HtmlForm {
  /** Absolute URL the form submits to. */
  action: string;
  method: 'GET' | 'POST';
  /** Successful controls' names and values, as a browser would submit them without edits. */
  fields: Record<string, string>;
  /** Attributes of the <form> tag (id, name, ...). */
  attributes: Record<string, string>;
  /** Every named, enabled control with its type (e.g. 'password'), submitted or not. */
  controls: { name: string; type: string }[];
  /** The page the form is on, sent as Origin and Referer like a browser does. */
  pageUrl: string;
}

export interface RequestOptions {
  /** Follow 3xx answers (default true); false returns the redirect itself. */
  followRedirects?: boolean;
  headers?: Record<string, string>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

export class Browser {
  readonly cookies = new CookieJar();

  constructor(private readonly options: { userAgent?: string } = {}) {}

  async get(url: string, options: RequestOptions = {}): Promise<Page> {
    return this.navigate({ method: 'GET', url }, options);
  }

  async post(url: string, fields: Record<string, string>, options: RequestOptions = {}): Promise<Page> {
    return this.navigate({ method: 'POST', url, body: new URLSearchParams(fields).toString() }, options);
  }

  /** Continues from a redirect answer (one returned with followRedirects: false). */
  async followRedirects(page: Page): Promise<Page> {
    const location = redirectTarget(page);
    if (!location) return page;
    const next = await this.get(location);
    return { ...next, visited: [...page.visited, ...next.visited] };
  }

  /** Submits `form` with its own fields, overridden and extended by `fields`. */
  async submitForm(
    form: HtmlForm,
    fields: Record<string, string> = {},
    options: RequestOptions = {},
  ): Promise<Page> {
    const values = { ...form.fields, ...fields };
    // Like a browser, say which page the form was on (only on the submission, not its redirects).
    const from = { origin: new URL(form.pageUrl).origin, referer: form.pageUrl };
    if (form.method === 'GET') {
      const target = new URL(form.action);
      target.search = new URLSearchParams(values).toString();
      return this.navigate({ method: 'GET', url: target.toString(), headers: from }, options);
    }
    const body = new URLSearchParams(values).toString();
    return this.navigate({ method: 'POST', url: form.action, body, headers: from }, options);
  }

  private async navigate(first: PendingRequest, options: RequestOptions): Promise<Page> {
    const visited: string[] = [];
    let request = first;
    for (;;) {
      visited.push(request.url);
      const response = await this.send(request, { ...request.headers, ...options.headers });
      const page: Page = {
        url: request.url,
        status: response.status,
        headers: response.headers,
        body: await response.text(),
        visited: [...visited],
      };
      const location = redirectTarget(page);
      if (!location || options.followRedirects === false) return page;
      if (visited.length > MAX_REDIRECTS)
        throw new Error(`more than ${MAX_REDIRECTS} redirects: ${visited.join(' -> ')}`);
      // 307 and 308 repeat the request as it was; the others turn it into a GET, as browsers do.
      request =
        page.status === 307 || page.status === 308
          ? { method: request.method, url: location, body: request.body }
          : { method: 'GET', url: location };
    }
  }

  private async send(request: PendingRequest, extraHeaders: Record<string, string>): Promise<Response> {
    const url = new URL(request.url);
    const headers: Record<string, string> = {
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'user-agent': this.options.userAgent ?? 'sso-e2e-browser',
      ...extraHeaders,
    };
    const cookie = this.cookies.header(url);
    if (cookie) headers.cookie = cookie;
    if (request.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: request.body,
      redirect: 'manual',
    });
    this.cookies.store(url, response.headers.getSetCookie());
    return response;
  }
}

interface PendingRequest {
  method: 'GET' | 'POST';
  url: string;
  body?: string;
  headers?: Record<string, string>;
}

/** The absolute Location of a redirect answer, else undefined. */
export function redirectTarget(page: Pick<Page, 'status' | 'headers' | 'url'>): string | undefined {
  const location = page.headers.get('location');
  if (!REDIRECT_STATUSES.has(page.status) || !location) return undefined;
  return new URL(location, page.url).toString();
}

interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  /** Without a Domain attribute a cookie goes back to exactly the host that set it. */
  hostOnly: boolean;
  path: string;
  secure: boolean;
  expiresAt: number | undefined;
}

/** RFC 6265 cookies, enough of them for IdP and SP sessions: domain, path, expiry, Secure. */
export class CookieJar {
  private cookies: StoredCookie[] = [];

  store(url: URL, setCookieHeaders: string[]): void {
    for (const header of setCookieHeaders) {
      const cookie = parseSetCookie(url, header);
      if (!cookie) continue;
      this.cookies = this.cookies.filter(
        (other) =>
          !(other.name === cookie.name && other.domain === cookie.domain && other.path === cookie.path),
      );
      if (cookie.expiresAt === undefined || cookie.expiresAt > Date.now()) this.cookies.push(cookie);
    }
  }

  /** The Cookie header a browser would send to `url`. */
  header(url: URL): string | undefined {
    const matching = this.matching(url).sort((a, b) => b.path.length - a.path.length);
    return matching.length > 0
      ? matching.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ')
      : undefined;
  }

  /** The value of cookie `name` that would be sent to `url`. */
  get(url: string, name: string): string | undefined {
    return this.matching(new URL(url)).find((cookie) => cookie.name === name)?.value;
  }

  clear(): void {
    this.cookies = [];
  }

  private matching(url: URL): StoredCookie[] {
    const now = Date.now();
    this.cookies = this.cookies.filter((cookie) => cookie.expiresAt === undefined || cookie.expiresAt > now);
    const host = url.hostname.toLowerCase();
    return this.cookies.filter(
      (cookie) =>
        (cookie.hostOnly
          ? host === cookie.domain
          : host === cookie.domain || host.endsWith(`.${cookie.domain}`)) &&
        pathMatches(url.pathname, cookie.path) &&
        (!cookie.secure || url.protocol === 'https:' || isLoopback(host)),
    );
  }
}

function parseSetCookie(url: URL, header: string): StoredCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const separator = pair.indexOf('=');
  if (separator <= 0) return undefined;
  const cookie: StoredCookie = {
    name: pair.slice(0, separator).trim(),
    value: pair.slice(separator + 1).trim(),
    domain: url.hostname.toLowerCase(),
    hostOnly: true,
    path: defaultPath(url.pathname),
    secure: false,
    expiresAt: undefined,
  };
  let maxAge: number | undefined;
  for (const attribute of attributes) {
    const [rawName = '', ...rest] = attribute.split('=');
    const name = rawName.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (name === 'domain' && value) {
      const domain = value.replace(/^\./, '').toLowerCase();
      const host = url.hostname.toLowerCase();
      // A site may not set cookies for a domain it is not part of.
      if (host !== domain && !host.endsWith(`.${domain}`)) return undefined;
      cookie.domain = domain;
      cookie.hostOnly = false;
    } else if (name === 'path' && value.startsWith('/')) {
      cookie.path = value;
    } else if (name === 'secure') {
      cookie.secure = true;
    } else if (name === 'max-age' && /^-?\d+$/.test(value)) {
      maxAge = Number(value);
    } else if (name === 'expires') {
      const time = Date.parse(value);
      if (!Number.isNaN(time)) cookie.expiresAt = time;
    }
  }
  // Max-Age wins over Expires; zero or less deletes the cookie.
  if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : Date.now() + maxAge * 1000;
  return cookie;
}

function defaultPath(requestPath: string): string {
  const lastSlash = requestPath.lastIndexOf('/');
  return lastSlash <= 0 ? '/' : requestPath.slice(0, lastSlash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

/** Browsers treat loopback as a secure context, so Secure cookies work over plain HTTP there. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// A tag's attributes may contain '>' inside quotes, so a tag ends at the first unquoted '>'.
const TAG_BODY = `((?:[^>"']|"[^"]*"|'[^']*')*)`;
const FORM_PATTERN = new RegExp(`<form\\b${TAG_BODY}>([\\s\\S]*?)</form\\s*>`, 'gi');
const CONTROL_PATTERN = new RegExp(`<(input|textarea)\\b${TAG_BODY}>`, 'gi');
const ATTRIBUTE_PATTERN = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const NOT_SUBMITTED_TYPES = new Set(['submit', 'button', 'image', 'reset', 'file']);

/** Every form on an HTML page, with actions resolved against `pageUrl`. */
export function parseForms(html: string, pageUrl: string): HtmlForm[] {
  // Scripts and comments may contain markup-like text that is not part of the page.
  const markup = html.replace(/<!--[\s\S]*?-->/g, '').replace(/<script\b[\s\S]*?<\/script\s*>/gi, '');
  const forms: HtmlForm[] = [];
  for (const match of markup.matchAll(FORM_PATTERN)) {
    const attributes = parseAttributes(match[1] ?? '');
    const fields: Record<string, string> = {};
    const controls: { name: string; type: string }[] = [];
    const inner = match[2] ?? '';
    for (const control of inner.matchAll(CONTROL_PATTERN)) {
      const tag = (control[1] ?? '').toLowerCase();
      const controlAttributes = parseAttributes(control[2] ?? '');
      const name = controlAttributes.name;
      if (!name || 'disabled' in controlAttributes) continue;
      if (tag === 'textarea') {
        // The text between the tags is the value.
        const rest = inner.slice((control.index ?? 0) + control[0].length);
        fields[name] = decodeEntities(/^([\s\S]*?)<\/textarea\s*>/i.exec(rest)?.[1] ?? '');
        controls.push({ name, type: 'textarea' });
        continue;
      }
      const type = (controlAttributes.type ?? 'text').toLowerCase();
      controls.push({ name, type });
      if (NOT_SUBMITTED_TYPES.has(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in controlAttributes)) continue;
      fields[name] = controlAttributes.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : '');
    }
    forms.push({
      action: new URL(attributes.action || pageUrl, pageUrl).toString(),
      method: (attributes.method ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET',
      fields,
      attributes,
      controls,
      pageUrl,
    });
  }
  return forms;
}

/** The form on `page` with a password field: an IdP's username/password login form. */
export function findLoginForm(page: Page): HtmlForm {
  const form = parseForms(page.body, page.url).find((candidate) =>
    candidate.controls.some((control) => control.type === 'password'),
  );
  if (!form) throw new Error(`no login form (a form with a password field) on ${describePage(page)}`);
  return form;
}

export interface SamlPostForm {
  form: HtmlForm;
  /** Base64 as posted; decode with Buffer.from(samlResponse, 'base64'). */
  samlResponse: string;
  relayState: string | undefined;
}

/** The HTTP-POST binding form an IdP renders to send its SAMLResponse to the SP's ACS URL. */
export function findSamlPostForm(page: Page): SamlPostForm {
  const form = parseForms(page.body, page.url).find(
    (candidate) => candidate.fields.SAMLResponse !== undefined,
  );
  const samlResponse = form?.fields.SAMLResponse;
  if (!form || samlResponse === undefined) {
    throw new Error(`no form with a SAMLResponse field on ${describePage(page)}`);
  }
  return { form, samlResponse, relayState: form.fields.RelayState };
}

/** Status, URL, title and the start of the visible text: enough to see which page a flow hit. */
export function describePage(page: Page): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(page.body)?.[1]?.trim();
  const text = decodeEntities(
    page.body
      .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
  return `${page.status} ${page.url}${title ? ` "${decodeEntities(title)}"` : ''}: ${text.slice(0, 400)}`;
}

function parseAttributes(tagBody: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of tagBody.matchAll(ATTRIBUTE_PATTERN)) {
    const name = (match[1] ?? '').toLowerCase();
    if (!name || name in attributes) continue;
    attributes[name] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    if (body.startsWith('#x') || body.startsWith('#X'))
      return String.fromCodePoint(Number.parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(Number.parseInt(body.slice(1), 10));
    return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
  });
}
