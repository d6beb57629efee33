/** Registers the build's search attributes on the namespace when missing (self-hosted and dev servers). */
import type { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { allSearchAttributes } from '../contract/search-attributes';

const INDEXED: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

export async function ensureSearchAttributes(conn: Connection, namespace: string): Promise<string[]> {
  const have = await conn.operatorService.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(have.customAttributes ?? {}), ...Object.keys(have.systemAttributes ?? {})]);
  const missing = allSearchAttributes.filter((k) => !known.has(k.name));
  if (missing.length === 0) return [];
  const searchAttributes: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const k of missing) searchAttributes[k.name] = INDEXED[k.type]!;
  await conn.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return missing.map((k) => k.name);
}
