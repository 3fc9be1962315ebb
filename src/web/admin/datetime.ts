import { z } from 'zod';

/**
 * The admin's date-time pickers (`<input type="datetime-local">`) speak Europe/Amsterdam wall-clock
 * time without an offset, whatever the server's or the browser's zone. These convert between that
 * and instants, daylight saving time included.
 */
const ZONE = 'Europe/Amsterdam';
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
const HOUR_MS = 60 * 60 * 1000;

const wallClock = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

function wallClockParts(
  instant: Date,
): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number> {
  const parts = Object.fromEntries(
    wallClock.formatToParts(instant).map((part) => [part.type, Number(part.value)]),
  );
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Amsterdam's offset from UTC at `instant`, in milliseconds (+1 h in winter, +2 h in summer). */
function offsetAt(instant: Date): number {
  const p = wallClockParts(instant);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * `2026-03-10T09:00` on an Amsterdam clock → the instant. Null when the value is malformed or the
 * time does not exist there (the hour skipped when summer time starts, e.g. 2026-03-29T02:30). A
 * time that happens twice (the hour repeated when summer time ends) is taken the first time, in
 * summer time.
 */
export function amsterdamLocalToInstant(value: string): Date | null {
  const match = LOCAL_DATE_TIME.exec(value.trim());
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const calendar = new Date(asUtc);
  // Date.UTC rolls over impossible dates (31 February); those are malformed, not shifted.
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59) {
    return null;
  }
  // The offset in force a day before and a day after cover both sides of any transition.
  const offsets = new Set([
    offsetAt(new Date(asUtc - 24 * HOUR_MS)),
    offsetAt(new Date(asUtc + 24 * HOUR_MS)),
  ]);
  const candidates = [...offsets]
    .map((offset) => new Date(asUtc - offset))
    .filter((instant) => offsetAt(instant) === asUtc - instant.getTime())
    .sort((a, b) => a.getTime() - b.getTime());
  return candidates[0] ?? null;
}

/** The instant as a `datetime-local` value on an Amsterdam clock (minutes), e.g. to prefill a picker. */
export function instantToAmsterdamLocal(instant: Date): string {
  const p = wallClockParts(instant);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

/** A form field with an Amsterdam date-time: '' means "no time"; otherwise it must exist there. */
export const amsterdamDateTimeField = z
  .string()
  .trim()
  .refine(
    (value) => value === '' || LOCAL_DATE_TIME.test(value),
    'Geef een datum en tijd, bijvoorbeeld 10-03-2026 09:00.',
  )
  .transform((value, ctx) => {
    if (value === '') return null;
    const instant = amsterdamLocalToInstant(value);
    if (!instant) {
      ctx.addIssue({
        code: 'custom',
        message:
          'Dit tijdstip bestaat niet in Nederland (de klok gaat dan een uur vooruit) of is geen geldige datum.',
      });
      return z.NEVER;
    }
    return instant;
  });
