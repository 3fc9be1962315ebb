import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  amsterdamDateTimeField,
  amsterdamLocalToInstant,
  instantToAmsterdamLocal,
} from '../../../src/web/admin/datetime.js';

describe('Amsterdam date-time pickers', () => {
  it('reads winter time as +01:00 and summer time as +02:00', () => {
    expect(amsterdamLocalToInstant('2026-01-15T09:00')?.toISOString()).toBe('2026-01-15T08:00:00.000Z');
    expect(amsterdamLocalToInstant('2026-07-01T09:00')?.toISOString()).toBe('2026-07-01T07:00:00.000Z');
    expect(amsterdamLocalToInstant('2026-07-01T09:00:30')?.toISOString()).toBe('2026-07-01T07:00:30.000Z');
  });

  it('refuses the hour skipped when summer time starts, and takes a repeated hour the first time', () => {
    // 29 March 2026: 02:00 → 03:00.
    expect(amsterdamLocalToInstant('2026-03-29T01:59')?.toISOString()).toBe('2026-03-29T00:59:00.000Z');
    expect(amsterdamLocalToInstant('2026-03-29T02:30')).toBeNull();
    expect(amsterdamLocalToInstant('2026-03-29T03:00')?.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    // 25 October 2026: 03:00 → 02:00, so 02:30 happens at 00:30Z (summer) and 01:30Z (winter).
    expect(amsterdamLocalToInstant('2026-10-25T02:30')?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(amsterdamLocalToInstant('2026-10-25T03:30')?.toISOString()).toBe('2026-10-25T02:30:00.000Z');
  });

  it('refuses malformed values and impossible dates', () => {
    for (const value of [
      '',
      '2026-02-31T09:00',
      '2026-13-01T09:00',
      '2026-03-10 09:00',
      '2026-03-10T24:00',
      'morgen',
    ]) {
      expect(amsterdamLocalToInstant(value)).toBeNull();
    }
  });

  it('round-trips every minute-precise instant through the picker value', () => {
    const minute = 60_000;
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1) / minute, max: Date.UTC(2100, 0, 1) / minute }),
        (m) => {
          const instant = new Date(m * minute);
          const local = instantToAmsterdamLocal(instant);
          const back = amsterdamLocalToInstant(local)!;
          // The repeated autumn hour maps back to its first occurrence, one hour earlier.
          expect([0, 60 * minute]).toContain(instant.getTime() - back.getTime());
          expect(instantToAmsterdamLocal(back)).toBe(local);
        },
      ),
    );
  });

  it('as a form field: empty is no time, a skipped hour has a Dutch message', () => {
    expect(amsterdamDateTimeField.parse('')).toBeNull();
    expect(amsterdamDateTimeField.parse('2026-03-10T09:00')).toEqual(new Date('2026-03-10T08:00:00Z'));
    const gap = amsterdamDateTimeField.safeParse('2026-03-29T02:30');
    expect(gap.success).toBe(false);
    expect(gap.error?.issues[0]?.message).toContain('bestaat niet');
    const malformed = amsterdamDateTimeField.safeParse('volgende week');
    expect(malformed.error?.issues.map((issue) => issue.message)).toEqual([
      'Geef een datum en tijd, bijvoorbeeld 10-03-2026 09:00.',
    ]);
  });
});
