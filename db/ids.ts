import { randomUUID } from 'node:crypto';

/** Readable random IDs such as `org_3f2c…`; the prefix tells an operator what an ID names. */
export function newId<T extends string>(
  prefix: 'org' | 'usr' | 'dom' | 'con' | 'key' | 'evt' | 'att' | 'tdn',
): T {
  return `${prefix}_${randomUUID().replaceAll('-', '')}` as T;
}
