import { describe, expect, it } from 'vitest';
import { minimalPdf } from '../../src/domain/demo.js';
import { contentDisposition, detectFormat, slugify, unsupportedFile } from '../../src/domain/documents.js';
import { odf, ooxml, zip } from '../helpers/office-files.js';

describe('detectFormat (by content, never by name)', () => {
  it('recognises PDF, DOCX, XLSX, PPTX, ODT and ODS', async () => {
    expect(await detectFormat(minimalPdf({ title: 'Test', lines: ['Regel'] }))).toEqual({ format: 'pdf' });
    expect(await detectFormat(ooxml('docx'))).toEqual({ format: 'docx' });
    expect(await detectFormat(ooxml('xlsx'))).toEqual({ format: 'xlsx' });
    expect(await detectFormat(ooxml('pptx'))).toEqual({ format: 'pptx' });
    expect(await detectFormat(odf('odt'))).toEqual({ format: 'odt' });
    expect(await detectFormat(odf('ods'))).toEqual({ format: 'ods' });
  });

  it('refuses other content and says what it looks like', async () => {
    const cases: [Buffer, string | null][] = [
      [Buffer.from('<!DOCTYPE html><html><body>%PDF-1.4</body></html>'), 'an HTML page'],
      [Buffer.from('\uFEFF  <html lang="nl"></html>'), 'an HTML page'],
      [Buffer.from('%PDF-1.4\n1 0 obj\n'), 'an incomplete PDF file'],
      [ooxml('docm'), 'an Office file with macros'],
      [zip([{ name: 'readme.txt', data: 'hallo' }]), 'a ZIP file'],
      [zip([{ name: 'mimetype', data: 'application/epub+zip' }]), 'a ZIP file'],
      [
        Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]),
        'an old Office file (.doc, .xls or .ppt)',
      ],
      [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]), 'an image'],
      [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'an XML or SVG file'],
      [Buffer.from('gewoon tekst'), null],
      [Buffer.from('PK\x03\x04 kapot'), 'a ZIP file'],
    ];
    for (const [bytes, seen] of cases) {
      const detection = await detectFormat(bytes);
      expect(detection, bytes.subarray(0, 20).toString('latin1')).toEqual({ format: null, seen });
    }
    const error = unsupportedFile({ seen: 'an HTML page' });
    expect(error.status).toBe(422);
    expect(error.fields[0]).toMatchObject({ field: 'file', message: expect.stringContaining('HTML-pagina') });
  });
});

describe('helpers', () => {
  it('makes slugs without accents and encodes file names per RFC 8187', () => {
    expect(slugify('Folder voor deelnemers: één keer!')).toBe('folder-voor-deelnemers-een-keer');
    expect(slugify('***')).toBe('document');
    expect(contentDisposition('inline', 'Één rapport (2026).pdf', 'een-rapport-2026.pdf')).toBe(
      `inline; filename="een-rapport-2026.pdf"; filename*=UTF-8''%C3%89%C3%A9n%20rapport%20%282026%29.pdf`,
    );
  });
});
