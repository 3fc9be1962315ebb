import type { Locale } from '../db/schema.js';

/**
 * Every word the subscriber emails say, in Dutch and English, in one place. Functions take plain
 * values; the templates escape them (React), so user input such as a name is never raw HTML.
 */
const nl = {
  greeting: (name: string | null) => (name ? `Beste ${name},` : 'Hallo,'),
  signOff: (programme: string) => `Met vriendelijke groet,\n${programme}`,
  footer: {
    preferences: 'Voorkeuren aanpassen',
    unsubscribe: 'Afmelden',
    addressLabel: 'Postadres',
    contact: (email: string) => `Vragen? Mail naar ${email}.`,
  },
  linkFallback: 'Werkt de knop niet? Kopieer dan deze link in je browser:',
  confirm: {
    subject: (programme: string) => `Bevestig je aanmelding bij ${programme}`,
    preview: 'Nog één stap: bevestig je aanmelding met de knop in deze e-mail.',
    heading: 'Bevestig je aanmelding',
    intro: (programme: string) =>
      `Je hebt je aangemeld voor berichten van ${programme}. Bevestig je aanmelding met de knop hieronder; pas daarna ontvang je berichten.`,
    topics: 'Je hebt gekozen voor:',
    button: 'Bevestig je aanmelding',
    expiry: (days: number) => `Deze link is ${days} dagen geldig.`,
    why: (programme: string) =>
      `Je ontvangt deze e-mail omdat iemand, hopelijk jij, dit adres heeft aangemeld bij ${programme}. Was jij het niet? Negeer deze e-mail dan; je wordt niet aangemeld en hoort niets meer van ons.`,
  },
  welcome: {
    subject: (programme: string) => `Welkom bij ${programme}`,
    preview: 'Je aanmelding is bevestigd.',
    heading: 'Welkom!',
    intro: (programme: string) =>
      `Je aanmelding is bevestigd. Je ontvangt voortaan berichten van ${programme}.`,
    topics: 'Je ontvangt berichten over:',
    manage: 'Je kunt je onderwerpen en taal altijd aanpassen, of je met één klik afmelden.',
    why: (programme: string) =>
      `Je ontvangt deze e-mail omdat je je hebt aangemeld voor berichten van ${programme}.`,
  },
  preferencesChanged: {
    subject: 'Je voorkeuren zijn aangepast',
    preview: 'We hebben je nieuwe voorkeuren opgeslagen.',
    heading: 'Je voorkeuren zijn aangepast',
    intro: 'We hebben je nieuwe voorkeuren opgeslagen.',
    topics: 'Je ontvangt berichten over:',
    language: 'Taal van de e-mails: Nederlands.',
    notYou: 'Heb jij dit niet gedaan? Pas je voorkeuren dan opnieuw aan of meld je af.',
    why: (programme: string) =>
      `Je ontvangt deze e-mail omdat je bent aangemeld voor berichten van ${programme}.`,
  },
  alreadySubscribed: {
    subject: (programme: string) => `Je bent al aangemeld bij ${programme}`,
    preview: 'Dit adres ontvangt onze berichten al.',
    heading: 'Je bent al aangemeld',
    intro: (programme: string) =>
      `Iemand, hopelijk jij, heeft zich opnieuw aangemeld met dit adres. Je ontvangt de berichten van ${programme} al; je hoeft niets te doen.`,
    manage: 'Wil je andere onderwerpen of een andere taal? Pas dan je voorkeuren aan.',
    why: (programme: string) =>
      `Je ontvangt deze e-mail omdat je bent aangemeld voor berichten van ${programme}.`,
  },
  edition: {
    why: (programme: string, topic: string | null) =>
      topic
        ? `Je ontvangt deze e-mail omdat je bent aangemeld voor "${topic}" van ${programme}.`
        : `Je ontvangt deze e-mail omdat je bent aangemeld voor berichten van ${programme}.`,
    webVersion: 'Bekijk deze nieuwsbrief in je browser',
    testBanner: 'TESTVERSIE – deze e-mail is een test en is niet naar de lezers verstuurd.',
    testSubjectPrefix: '[TEST] ',
  },
};

type EmailStrings = typeof nl;

const en: EmailStrings = {
  greeting: (name) => (name ? `Dear ${name},` : 'Hello,'),
  signOff: (programme) => `Kind regards,\n${programme}`,
  footer: {
    preferences: 'Change preferences',
    unsubscribe: 'Unsubscribe',
    addressLabel: 'Postal address',
    contact: (email) => `Questions? Email ${email}.`,
  },
  linkFallback: 'Button not working? Copy this link into your browser:',
  confirm: {
    subject: (programme) => `Confirm your subscription to ${programme}`,
    preview: 'One more step: confirm your subscription with the button in this email.',
    heading: 'Confirm your subscription',
    intro: (programme) =>
      `You signed up for messages from ${programme}. Confirm your subscription with the button below; only then will you receive messages.`,
    topics: 'You chose:',
    button: 'Confirm your subscription',
    expiry: (days) => `This link is valid for ${days} days.`,
    why: (programme) =>
      `You receive this email because someone, hopefully you, signed up this address with ${programme}. Not you? Then ignore this email: you will not be subscribed and will not hear from us again.`,
  },
  welcome: {
    subject: (programme) => `Welcome to ${programme}`,
    preview: 'Your subscription is confirmed.',
    heading: 'Welcome!',
    intro: (programme) =>
      `Your subscription is confirmed. From now on you will receive messages from ${programme}.`,
    topics: 'You receive messages about:',
    manage: 'You can change your topics and language at any time, or unsubscribe with one click.',
    why: (programme) => `You receive this email because you signed up for messages from ${programme}.`,
  },
  preferencesChanged: {
    subject: 'Your preferences have been changed',
    preview: 'We saved your new preferences.',
    heading: 'Your preferences have been changed',
    intro: 'We saved your new preferences.',
    topics: 'You receive messages about:',
    language: 'Language of the emails: English.',
    notYou: 'Was this not you? Change your preferences again or unsubscribe.',
    why: (programme) => `You receive this email because you are subscribed to messages from ${programme}.`,
  },
  alreadySubscribed: {
    subject: (programme) => `You are already subscribed to ${programme}`,
    preview: 'This address already receives our messages.',
    heading: 'You are already subscribed',
    intro: (programme) =>
      `Someone, hopefully you, signed up again with this address. You already receive the messages from ${programme}; there is nothing you need to do.`,
    manage: 'Want other topics or another language? Change your preferences.',
    why: (programme) => `You receive this email because you are subscribed to messages from ${programme}.`,
  },
  edition: {
    why: (programme, topic) =>
      topic
        ? `You receive this email because you subscribed to "${topic}" from ${programme}.`
        : `You receive this email because you subscribed to messages from ${programme}.`,
    webVersion: 'View this newsletter in your browser',
    testBanner: 'TEST VERSION – this email is a test and was not sent to readers.',
    testSubjectPrefix: '[TEST] ',
  },
};

export const EMAIL_STRINGS: Record<Locale, EmailStrings> = { nl, en };

export function emailStrings(locale: Locale): EmailStrings {
  return EMAIL_STRINGS[locale] ?? nl;
}
