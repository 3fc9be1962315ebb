import { createElement } from 'react';
import type { Locale } from '../db/schema.js';
import type { Block } from '../domain/edition-content.js';
import Edition, { PLACEHOLDERS } from './Edition.js';
import { type RenderedEmail, renderElement } from './render.js';
import { emailStrings } from './strings.js';

export interface EditionRenderInput {
  readerLocale: Locale;
  contentLocale: Locale;
  title: string;
  subject: string;
  preheader: string;
  blocks: Block[];
  webVersionUrl: string;
  topicName: string | null;
  programmeName: string;
  postalAddress: string;
  contactEmail: string | null;
  test?: boolean;
}

/**
 * Renders an edition once for one reader locale, with per-recipient markers in place of the
 * personal links and greeting (see personalise.ts).
 */
export async function renderEdition(input: EditionRenderInput): Promise<RenderedEmail> {
  const element = createElement(Edition, {
    locale: input.readerLocale,
    contentLocale: input.contentLocale,
    programmeName: input.programmeName,
    postalAddress: input.postalAddress,
    contactEmail: input.contactEmail,
    preferencesUrl: PLACEHOLDERS.preferencesUrl,
    unsubscribeUrl: PLACEHOLDERS.unsubscribeUrl,
    title: input.title,
    preheader: input.preheader,
    blocks: input.blocks,
    webVersionUrl: input.webVersionUrl,
    topicName: input.topicName,
    test: input.test ?? false,
    greeting: true,
  });
  const subject = `${input.test ? emailStrings(input.readerLocale).edition.testSubjectPrefix : ''}${input.subject}`;
  return { subject, ...(await renderElement(element)) };
}
