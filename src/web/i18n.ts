import type { Locale } from '../db/schema.js';

/**
 * Every word of the public pages (signup, confirm, unsubscribe, preferences), in Dutch (default)
 * and English. Pages pick a language from `?lang=`, a form field, or the subscriber's locale.
 */
const nl = {
  languageName: 'Nederlands',
  skipLink: 'Naar de inhoud',
  languageSwitch: { label: 'Taal', other: 'English', otherLang: 'en' as Locale },
  required: '(verplicht)',
  optional: '(optioneel)',
  errorSummary: 'Controleer de volgende velden:',
  errorPrefix: 'Fout',
  footerContact: (email: string) => `Vragen? Mail naar ${email}.`,
  subscribe: {
    title: 'Aanmelden',
    intro: 'Ontvang onze berichten per e-mail. Je kunt je altijd met één klik afmelden.',
    email: 'E-mailadres',
    emailHint:
      'Bijvoorbeeld naam@voorbeeld.nl. We sturen je eerst een e-mail om je aanmelding te bevestigen.',
    name: 'Naam',
    topics: 'Waarover wil je berichten ontvangen?',
    locale: 'Taal van de e-mails',
    consent: 'Toestemming',
    honeypot: 'Laat dit veld leeg',
    submit: 'Aanmelden',
    sentTitle: 'Kijk in je mailbox',
    sent: [
      'Bedankt! We sturen een e-mail naar het adres dat je hebt opgegeven.',
      'Nieuw aangemeld? Klik dan op de knop in die e-mail om je aanmelding te bevestigen; pas daarna ontvang je berichten. Ben je al aangemeld, dan laat de e-mail je dat weten.',
      'Geen e-mail gekregen? Kijk in je map met ongewenste e-mail, of probeer het over tien minuten opnieuw.',
    ],
    sentJson: 'Kijk in je mailbox: we sturen een e-mail naar het opgegeven adres.',
    again: 'Nog een adres aanmelden',
    embedTitle: 'Aanmelden voor berichten',
  },
  errors: {
    emailInvalid: 'Vul een geldig e-mailadres in, bijvoorbeeld naam@voorbeeld.nl.',
    emailTooLong: 'Een e-mailadres mag hoogstens 254 tekens lang zijn.',
    nameTooLong: 'Een naam mag hoogstens 100 tekens lang zijn.',
    topicsRequired: 'Kies minstens één onderwerp.',
    topicUnknown: 'Kies alleen onderwerpen uit de lijst.',
    localeInvalid: 'Kies Nederlands of English.',
    consentRequired:
      'Geef toestemming door het vakje aan te vinken; anders kunnen we je geen berichten sturen.',
    consentVersion: 'De toestemmingstekst is gewijzigd. Herlaad de pagina en probeer het opnieuw.',
    formToken: 'Dit formulier is verlopen of onvolledig. Herlaad de pagina en probeer het opnieuw.',
    reasonTooLong: 'Een reden mag hoogstens 500 tekens lang zijn.',
    tooMany: 'Te veel aanmeldingen vanaf dit adres. Wacht tien minuten en probeer het opnieuw.',
    tooManyTitle: 'Even geduld',
    tooLarge: 'Het formulier is te groot om te verwerken. Vul alleen de gevraagde velden in.',
    tooLargeTitle: 'Formulier te groot',
    contentType:
      'Stuur het formulier als formulier (application/x-www-form-urlencoded of multipart/form-data) of als JSON.',
    badJson: 'De JSON kon niet worden gelezen.',
    invalidTitle: 'Controleer je gegevens',
  },
  confirm: {
    title: 'Bevestig je aanmelding',
    intro: (programme: string) =>
      `Klik op de knop om je aanmelding voor de berichten van ${programme} te bevestigen.`,
    button: 'Bevestig je aanmelding',
    doneTitle: 'Je aanmelding is bevestigd',
    done: (programme: string) =>
      `Welkom! Je ontvangt voortaan berichten van ${programme}. We hebben je een welkomstmail gestuurd.`,
    topics: 'Je ontvangt berichten over:',
    managePreferences: 'Voorkeuren aanpassen',
    notPossibleTitle: 'Deze aanmelding kan niet worden bevestigd',
    notPossible:
      'Deze aanmelding is ingetrokken of dit adres ontvangt geen e-mail meer van ons. Wil je toch berichten ontvangen? Meld je dan opnieuw aan.',
    expiredTitle: 'Deze bevestigingslink is verlopen',
    expired: (days: number) =>
      `Een bevestigingslink is ${days} dagen geldig. Vraag een nieuwe bevestigingsmail aan; daarin staat een nieuwe link.`,
    resend: 'Stuur een nieuwe bevestigingsmail',
    resentTitle: 'Kijk in je mailbox',
    resent:
      'Als je aanmelding nog op bevestiging wacht, sturen we je een nieuwe bevestigingsmail. Die kan een paar minuten onderweg zijn. Kijk ook in je map met ongewenste e-mail.',
  },
  link: {
    invalidTitle: 'Deze link werkt niet',
    invalid:
      'De link is beschadigd of onvolledig, bijvoorbeeld doordat je mailprogramma hem over twee regels heeft verdeeld. Kopieer de hele link uit de e-mail en probeer het opnieuw.',
    toSignup: 'Naar het aanmeldformulier',
    goneTitle: 'Deze aanmelding bestaat niet meer',
    gone: 'We hebben geen gegevens meer bij deze link. Je ontvangt geen berichten van ons. Wil je weer berichten ontvangen? Meld je dan opnieuw aan.',
    expiredTitle: 'Deze link is verlopen',
    expired:
      'Deze link is niet meer geldig. Vul het aanmeldformulier opnieuw in met je e-mailadres: je krijgt dan een e-mail met nieuwe links om je aanmelding te beheren.',
  },
  unsubscribe: {
    title: 'Afmelden',
    intro: (programme: string) => `Wil je geen e-mails meer ontvangen van ${programme}?`,
    introTopic: (topic: string) =>
      `Deze e-mail ging over ‘${topic}’. Wil je daarover geen berichten meer ontvangen?`,
    button: 'Afmelden',
    buttonTopic: (topic: string) => `Afmelden voor ‘${topic}’`,
    buttonAll: 'Afmelden voor alles',
    orAll: 'Of meld je af voor alle berichten:',
    doneTitle: 'Je bent afgemeld',
    done: (programme: string) => `Je ontvangt geen e-mails meer van ${programme}.`,
    doneTopicTitle: 'Je bent afgemeld voor dit onderwerp',
    doneTopic: (topic: string) => `Je ontvangt geen berichten meer over ‘${topic}’.`,
    remaining: 'Je blijft berichten ontvangen over:',
    mistake: 'Per ongeluk afgemeld? Meld je dan opnieuw aan.',
    alreadyTitle: 'Je bent al afgemeld',
    oneClick: 'Je bent afgemeld.',
    preferences: 'Of pas je voorkeuren aan',
  },
  preferences: {
    title: 'Je voorkeuren',
    intro: (email: string) => `Voorkeuren voor ${email}.`,
    topics: 'Waarover wil je berichten ontvangen?',
    noTopicsHint: 'Kies je geen enkel onderwerp, dan word je afgemeld.',
    locale: 'Taal van de e-mails',
    name: 'Naam',
    unsubscribeLegend: 'Afmelden',
    unsubscribeAll: 'Ik wil geen e-mails meer ontvangen (afmelden voor alles)',
    reason: 'Waarom meld je je af?',
    reasonHint: 'Hiermee kunnen we onze berichten verbeteren. Je hoeft niets in te vullen.',
    submit: 'Opslaan',
    saved: 'Je voorkeuren zijn opgeslagen.',
    pending:
      'Je aanmelding is nog niet bevestigd. Klik op de knop in de bevestigingsmail; pas daarna ontvang je berichten.',
    unsubscribedTitle: 'Je bent afgemeld',
    unsubscribed: (programme: string) =>
      `Je ontvangt geen e-mails van ${programme}. Wil je weer berichten ontvangen? Meld je dan opnieuw aan.`,
  },
};

export type PageStrings = typeof nl;

const en: PageStrings = {
  languageName: 'English',
  skipLink: 'Skip to content',
  languageSwitch: { label: 'Language', other: 'Nederlands', otherLang: 'nl' },
  required: '(required)',
  optional: '(optional)',
  errorSummary: 'Please check the following fields:',
  errorPrefix: 'Error',
  footerContact: (email) => `Questions? Email ${email}.`,
  subscribe: {
    title: 'Subscribe',
    intro: 'Receive our messages by email. You can unsubscribe at any time with one click.',
    email: 'Email address',
    emailHint: 'For example name@example.org. We first send you an email to confirm your subscription.',
    name: 'Name',
    topics: 'What would you like to receive messages about?',
    locale: 'Language of the emails',
    consent: 'Consent',
    honeypot: 'Leave this field empty',
    submit: 'Subscribe',
    sentTitle: 'Check your mailbox',
    sent: [
      'Thank you! We are sending an email to the address you entered.',
      'New here? Then click the button in that email to confirm your subscription; only then will you receive messages. If you are already subscribed, the email will tell you so.',
      'No email? Check your spam folder, or try again in ten minutes.',
    ],
    sentJson: 'Check your mailbox: we are sending an email to the address you entered.',
    again: 'Subscribe another address',
    embedTitle: 'Subscribe to our messages',
  },
  errors: {
    emailInvalid: 'Enter a valid email address, for example name@example.org.',
    emailTooLong: 'An email address can be at most 254 characters long.',
    nameTooLong: 'A name can be at most 100 characters long.',
    topicsRequired: 'Choose at least one topic.',
    topicUnknown: 'Choose only topics from the list.',
    localeInvalid: 'Choose Nederlands or English.',
    consentRequired: 'Give your consent by ticking the box; otherwise we cannot send you messages.',
    consentVersion: 'The consent text has changed. Reload the page and try again.',
    formToken: 'This form has expired or is incomplete. Reload the page and try again.',
    reasonTooLong: 'A reason can be at most 500 characters long.',
    tooMany: 'Too many signups from this address. Wait ten minutes and try again.',
    tooManyTitle: 'Please wait',
    tooLarge: 'The form is too large to process. Fill in only the fields asked for.',
    tooLargeTitle: 'Form too large',
    contentType:
      'Send the form as a form (application/x-www-form-urlencoded or multipart/form-data) or as JSON.',
    badJson: 'The JSON could not be read.',
    invalidTitle: 'Please check your details',
  },
  confirm: {
    title: 'Confirm your subscription',
    intro: (programme) => `Click the button to confirm your subscription to the messages from ${programme}.`,
    button: 'Confirm your subscription',
    doneTitle: 'Your subscription is confirmed',
    done: (programme) =>
      `Welcome! From now on you will receive messages from ${programme}. We have sent you a welcome email.`,
    topics: 'You receive messages about:',
    managePreferences: 'Change preferences',
    notPossibleTitle: 'This subscription cannot be confirmed',
    notPossible:
      'This subscription was withdrawn, or this address no longer receives email from us. Still want our messages? Then sign up again.',
    expiredTitle: 'This confirmation link has expired',
    expired: (days) =>
      `A confirmation link is valid for ${days} days. Ask for a new confirmation email; it contains a new link.`,
    resend: 'Send a new confirmation email',
    resentTitle: 'Check your mailbox',
    resent:
      'If your subscription is still waiting for confirmation, we are sending you a new confirmation email. It may take a few minutes to arrive. Also check your spam folder.',
  },
  link: {
    invalidTitle: 'This link does not work',
    invalid:
      'The link is damaged or incomplete, for example because your email program split it over two lines. Copy the whole link from the email and try again.',
    toSignup: 'Go to the signup form',
    goneTitle: 'This subscription no longer exists',
    gone: 'We no longer hold any data for this link. You will not receive messages from us. Want to receive messages again? Then sign up again.',
    expiredTitle: 'This link has expired',
    expired:
      'This link is no longer valid. Fill in the signup form again with your email address: you will then receive an email with new links to manage your subscription.',
  },
  unsubscribe: {
    title: 'Unsubscribe',
    intro: (programme) => `Do you no longer want to receive emails from ${programme}?`,
    introTopic: (topic) => `This email was about ‘${topic}’. Do you no longer want messages about it?`,
    button: 'Unsubscribe',
    buttonTopic: (topic) => `Unsubscribe from ‘${topic}’`,
    buttonAll: 'Unsubscribe from everything',
    orAll: 'Or unsubscribe from all messages:',
    doneTitle: 'You have been unsubscribed',
    done: (programme) => `You will no longer receive emails from ${programme}.`,
    doneTopicTitle: 'You have been unsubscribed from this topic',
    doneTopic: (topic) => `You will no longer receive messages about ‘${topic}’.`,
    remaining: 'You still receive messages about:',
    mistake: 'Unsubscribed by mistake? Then sign up again.',
    alreadyTitle: 'You are already unsubscribed',
    oneClick: 'You have been unsubscribed.',
    preferences: 'Or change your preferences',
  },
  preferences: {
    title: 'Your preferences',
    intro: (email) => `Preferences for ${email}.`,
    topics: 'What would you like to receive messages about?',
    noTopicsHint: 'If you choose no topic at all, you will be unsubscribed.',
    locale: 'Language of the emails',
    name: 'Name',
    unsubscribeLegend: 'Unsubscribe',
    unsubscribeAll: 'I no longer want to receive emails (unsubscribe from everything)',
    reason: 'Why are you unsubscribing?',
    reasonHint: 'This helps us improve our messages. You do not have to fill it in.',
    submit: 'Save',
    saved: 'Your preferences have been saved.',
    pending:
      'Your subscription has not been confirmed yet. Click the button in the confirmation email; only then will you receive messages.',
    unsubscribedTitle: 'You are unsubscribed',
    unsubscribed: (programme) =>
      `You do not receive emails from ${programme}. Want to receive messages again? Then sign up again.`,
  },
};

export const PAGE_STRINGS: Record<Locale, PageStrings> = { nl, en };

export const LOCALES: readonly Locale[] = ['nl', 'en'];

export function isLocale(value: unknown): value is Locale {
  return value === 'nl' || value === 'en';
}

export function pageStrings(locale: Locale): PageStrings {
  return PAGE_STRINGS[locale];
}

/**
 * The public site around the signup pages (home, documents, newsletter archive, web versions of
 * editions, navigation): a section of its own, in Dutch (default) and English.
 */
const siteNl = {
  dateLocale: 'nl-NL',
  nav: {
    label: 'Hoofdmenu',
    home: 'Home',
    documents: 'Documenten',
    archive: 'Nieuwsbrieven',
    subscribe: 'Aanmelden',
  },
  home: {
    signupHeading: 'Aanmelden voor onze berichten',
    latestHeading: 'Laatste nieuwsbrief',
    latestNone: 'Er is nog geen nieuwsbrief verschenen.',
    readEdition: 'Lees deze nieuwsbrief',
    allEditions: 'Alle nieuwsbrieven',
    documentsHeading: 'Nieuwe documenten',
    allDocuments: 'Alle documenten',
    contactHeading: 'Contact',
    contact: 'Vragen of ideeën? Mail naar',
    feeds: 'Volg ons nieuws ook met een feedlezer:',
  },
  documents: {
    title: 'Relevante documenten',
    intro: 'Rapporten, folders, artikelen en andere documenten van het programma.',
    none: 'Er zijn nog geen documenten.',
    link: 'website',
    date: 'Datum',
  },
  archive: {
    title: 'Nieuwsbrieven',
    intro: 'Alle nieuwsbrieven die zijn verschenen, de nieuwste eerst.',
    year: (year: number) => `Nieuwsbrieven ${year}`,
    none: 'Er is nog geen nieuwsbrief verschenen.',
  },
  edition: {
    sentOn: 'Verschenen op',
    back: 'Alle nieuwsbrieven',
    subscribe: 'Wil je de nieuwsbrief voortaan zelf ontvangen?',
    subscribeLink: 'Meld je aan',
  },
  notFound: {
    title: 'Pagina niet gevonden',
    body: 'Op dit adres staat niets. Misschien is de pagina verplaatst, of is deze nieuwsbrief (nog) niet verschenen.',
    home: 'Naar de homepage',
    archive: 'Naar alle nieuwsbrieven',
  },
  feeds: {
    rss: 'RSS-feed',
    atom: 'Atom-feed',
    description: (programme: string) => `Nieuwsbrieven en documenten van ${programme}.`,
  },
};

export type SiteStrings = typeof siteNl;

const siteEn: SiteStrings = {
  dateLocale: 'en-GB',
  nav: {
    label: 'Main menu',
    home: 'Home',
    documents: 'Documents',
    archive: 'Newsletters',
    subscribe: 'Subscribe',
  },
  home: {
    signupHeading: 'Subscribe to our messages',
    latestHeading: 'Latest newsletter',
    latestNone: 'No newsletter has been published yet.',
    readEdition: 'Read this newsletter',
    allEditions: 'All newsletters',
    documentsHeading: 'New documents',
    allDocuments: 'All documents',
    contactHeading: 'Contact',
    contact: 'Questions or ideas? Email',
    feeds: 'You can also follow our news in a feed reader:',
  },
  documents: {
    title: 'Relevant documents',
    intro: 'Reports, leaflets, articles and other documents of the programme.',
    none: 'There are no documents yet.',
    link: 'website',
    date: 'Date',
  },
  archive: {
    title: 'Newsletters',
    intro: 'Every newsletter published so far, newest first.',
    year: (year) => `Newsletters ${year}`,
    none: 'No newsletter has been published yet.',
  },
  edition: {
    sentOn: 'Published on',
    back: 'All newsletters',
    subscribe: 'Would you like to receive the newsletter yourself?',
    subscribeLink: 'Subscribe',
  },
  notFound: {
    title: 'Page not found',
    body: 'There is nothing at this address. The page may have moved, or this newsletter has not been published (yet).',
    home: 'Go to the home page',
    archive: 'Go to all newsletters',
  },
  feeds: {
    rss: 'RSS feed',
    atom: 'Atom feed',
    description: (programme) => `Newsletters and documents of ${programme}.`,
  },
};

export function siteStrings(locale: Locale): SiteStrings {
  return locale === 'en' ? siteEn : siteNl;
}
