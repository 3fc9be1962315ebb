import { MAX_COMMENTARY, RESERVED } from '../../../providers/linkedin-text.js';

/**
 * Progressive enhancement of the LinkedIn compose and edit forms (they work without it): the
 * character count under the text follows the typing, counted as LinkedIn counts the escaped text
 * (a reserved character costs two). The server's preview stays the authority. Served as a
 * same-origin script (the CSP allows no inline script); the reserved characters and the limit come
 * from providers/linkedin-text.ts.
 */
export const COMMENTARY_COUNTER_SCRIPT = `'use strict';
(function () {
  var field = document.querySelector('textarea[name="commentary"]');
  var counter = document.getElementById('tekenteller');
  if (!field || !counter) return;
  var reserved = ${JSON.stringify([...RESERVED].join(''))};
  var max = ${MAX_COMMENTARY};
  var format = new Intl.NumberFormat('nl-NL');
  var timer = null;
  function count() {
    var text = field.value.replace(/\\r\\n?/g, '\\n').trim();
    var length = 0;
    for (var ch of text) length += reserved.indexOf(ch) >= 0 ? ch.length + 1 : ch.length;
    counter.textContent = format.format(length) + ' van ' + format.format(max) + ' tekens' +
      (length > max ? ': te lang, LinkedIn krijgt een ingekorte tekst.' : '.');
  }
  // Announced once typing pauses, not at every key.
  field.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(count, 400);
  });
})();
`;
