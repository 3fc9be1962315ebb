import { type Kysely, sql } from 'kysely';

/**
 * Says in the schema how to read `consent_events.ip_hash`, whose scheme changed: rows written
 * before this change hold an unkeyed `sha256("ip:" + address)` (first 32 hex digits), which can be
 * reversed by trying every IPv4 address; new rows hold `hmac1:` + a keyed HMAC-SHA256 (key from
 * APP_SECRET via HKDF, label `ip-pseudonym-v1`). The old rows stay as they are: the ledger is
 * append-only and they cannot be re-keyed without the address.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    comment on column consent_events.ip_hash is
      'Pseudonym of the client IP. "hmac1:<32 hex>": HMAC-SHA256 keyed from APP_SECRET (HKDF label ip-pseudonym-v1), correlatable only with the key. Bare 32 hex (rows before migration 0036): unkeyed sha256(''ip:'' || ip), legacy.'`.execute(
    db,
  );
}
