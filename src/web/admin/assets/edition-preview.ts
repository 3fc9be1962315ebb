/**
 * Progressive enhancement of the edition preview (the page works without it): the language and
 * width links switch the preview frame in place instead of loading the page again, so unsaved
 * changes in the editor stay. Served as a same-origin script (the CSP allows no inline script);
 * kept as a string so that every runtime (Node, Workers) can serve it without a file system.
 */
export const EDITION_PREVIEW_SCRIPT = `'use strict';
(function () {
  var panel = document.querySelector('[data-preview]');
  if (!panel) return;
  var frame = panel.querySelector('iframe');
  var textLink = panel.querySelector('[data-preview-text]');
  panel.addEventListener('click', function (event) {
    var link = event.target.closest('a[data-src]');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    frame.src = link.dataset.src;
    frame.title = link.dataset.title;
    frame.style.width = link.dataset.width;
    if (textLink) textLink.href = link.dataset.text;
    panel.querySelectorAll('a[data-src]').forEach(function (other) {
      if (other === link) other.setAttribute('aria-current', 'true');
      else other.removeAttribute('aria-current');
    });
  });
})();
`;
