import { render } from '@react-email/render';
import { createElement, type ReactElement } from 'react';
import AlreadySubscribed, {
  type AlreadySubscribedProps,
  alreadySubscribedSubject,
} from './AlreadySubscribed.js';
import Confirm, { type ConfirmProps, confirmSubject } from './Confirm.js';
import PreferencesChanged, {
  type PreferencesChangedProps,
  preferencesChangedSubject,
} from './PreferencesChanged.js';
import Welcome, { type WelcomeProps, welcomeSubject } from './Welcome.js';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** The template emails a subscriber receives, by kind (the same kinds as queueSubscriberEmail). */
export type SubscriberTemplate =
  | { kind: 'confirmation'; props: ConfirmProps }
  | { kind: 'welcome'; props: WelcomeProps }
  | { kind: 'preferences-changed'; props: PreferencesChangedProps }
  | { kind: 'already-subscribed'; props: AlreadySubscribedProps };

/** HTML and plain text of one element; both are always sent. */
export async function renderElement(element: ReactElement): Promise<{ html: string; text: string }> {
  const [html, text] = await Promise.all([render(element), render(element, { plainText: true })]);
  return { html, text };
}

export async function renderSubscriberEmail(template: SubscriberTemplate): Promise<RenderedEmail> {
  switch (template.kind) {
    case 'confirmation':
      return {
        subject: confirmSubject(template.props),
        ...(await renderElement(createElement(Confirm, template.props))),
      };
    case 'welcome':
      return {
        subject: welcomeSubject(template.props),
        ...(await renderElement(createElement(Welcome, template.props))),
      };
    case 'preferences-changed':
      return {
        subject: preferencesChangedSubject(template.props),
        ...(await renderElement(createElement(PreferencesChanged, template.props))),
      };
    case 'already-subscribed':
      return {
        subject: alreadySubscribedSubject(template.props),
        ...(await renderElement(createElement(AlreadySubscribed, template.props))),
      };
  }
}
