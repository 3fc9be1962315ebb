import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/**
 * How hard a password is to guess, by zxcvbn-ts with its common password list and the English
 * and Dutch word lists (names, common words, Wikipedia), plus the account's own email address
 * and name. Length alone let `password1234` through.
 *
 * The estimator is loaded on first use: its dictionaries are a few MB of JavaScript that a
 * process serving pages or sending mail never needs (on Workers the bundle carries them, but
 * they are evaluated only when a password is set).
 */

/** zxcvbn's score 3: at least 10^8 guesses; see docs/configuration.md ("Logins and passwords") for why that suffices. */
export const MIN_PASSWORD_SCORE = 3;

/**
 * Only the first 64 characters are estimated: zxcvbn's matching grows fast with length (a
 * 200-character password took seconds), and a password whose first 64 characters are hard to
 * guess is hard to guess.
 */
const ESTIMATED_LENGTH = 64;

/** Words of this service itself that belong in no password of it. */
const SERVICE_WORDS = ['thuispost', 'nieuwsbrief', 'newsletter'];

interface Estimator {
  zxcvbn: ZxcvbnFactory;
  warnings: { nl: Record<string, string>; en: Record<string, string> };
}

let loading: Promise<Estimator> | undefined;

function estimator(): Promise<Estimator> {
  loading ??= (async () => {
    const [{ ZxcvbnFactory }, common, en, nl] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-en'),
      import('@zxcvbn-ts/language-nl-be'),
    ]);
    return {
      // No translations: feedback comes back as keys, looked up below in either language.
      zxcvbn: new ZxcvbnFactory({
        dictionary: { ...common.dictionary, ...en.dictionary, ...nl.dictionary },
        graphs: common.adjacencyGraphs,
        maxLength: ESTIMATED_LENGTH,
        l33tMaxSubstitutions: 20,
      }),
      warnings: {
        nl: nl.translations.warnings as Record<string, string>,
        en: en.translations.warnings as Record<string, string>,
      },
    };
  })().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** The account's own words: the whole address, its parts, and the name and its parts. */
export function personalWords(person: { email?: string; name?: string | null }): string[] {
  const words = new Set<string>(SERVICE_WORDS);
  const add = (value: string) => {
    const word = value.trim().toLowerCase();
    if (word.length >= 3) words.add(word);
  };
  const email = person.email?.trim().toLowerCase() ?? '';
  if (email) {
    add(email);
    const [local = '', domain = ''] = email.split('@');
    add(local);
    for (const part of local.split(/[._+-]+/)) add(part);
    add(domain);
    for (const label of domain.split('.')) add(label);
  }
  const name = person.name?.trim() ?? '';
  if (name) {
    add(name);
    add(name.replace(/\s+/g, ''));
    for (const part of name.split(/[\s.,'-]+/)) add(part);
  }
  return [...words];
}

export interface PasswordWeakness {
  score: number;
  /** For the field of a form (Dutch, the default language of what a person sees). */
  nl: string;
  /** For the problem's detail in the API and the CLI. */
  en: string;
}

/** Null when the password is hard enough to guess; else why not, in Dutch and English. */
export async function passwordWeakness(
  password: string,
  person: { email?: string; name?: string | null },
): Promise<PasswordWeakness | null> {
  const { zxcvbn, warnings } = await estimator();
  const words = personalWords(person);
  // zxcvbn prices a separator between two words as a guess of its own: `fenna.devries` or
  // `Fenna de Vries 2026` came out strong for Fenna de Vries. The lower of the password's score
  // and that of its words run together counts.
  const compact = password.toLowerCase().replace(/[\s._-]+/g, '');
  const result = [
    zxcvbn.check(password, words),
    ...(compact !== password ? [zxcvbn.check(compact, words)] : []),
  ].sort((a, b) => a.score - b.score)[0]!;
  if (result.score >= MIN_PASSWORD_SCORE) return null;
  const key = result.feedback.warning ?? '';
  const nlWarning = warnings.nl[key];
  const enWarning = warnings.en[key];
  return {
    score: result.score,
    nl: [
      'Dit wachtwoord is te makkelijk te raden.',
      nlWarning,
      'Kies bijvoorbeeld een zin van vier of meer ongewone woorden, zonder je naam of e-mailadres.',
    ]
      .filter(Boolean)
      .join(' '),
    en: [
      'This password is too easy to guess.',
      enWarning,
      'Use for example a phrase of four or more uncommon words, without your name or email address.',
    ]
      .filter(Boolean)
      .join(' '),
  };
}
