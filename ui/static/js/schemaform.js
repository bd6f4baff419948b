// Forms generated from the JSON Schemas the API serves for a workflow's
// input, signals and queries (GET /api/workflows/{name}): one input per
// field of a struct, typed by its JSON type; what a form cannot type (maps,
// recursive types, any value) is a JSON text area.

import {el} from './dom.js';

function types(s) {
  if (!s || !s.type) return [];
  return Array.isArray(s.type) ? s.type : [s.type];
}

// schemaForm returns the form of schema: node, to put in a page, and
// value(), which returns the value typed in (undefined when nothing is)
// or throws an Error that says which field is wrong.
export function schemaForm(schema, idPrefix) {
  return field(schema || {}, idPrefix, '', true);
}

function field(s, id, label, required) {
  const ts = types(s);
  const main = ts.find((t) => t !== 'null');
  const hint = s['x-go-type'] ? el('span', {class: 'hint go-type'}, ' ' + s['x-go-type']) : '';
  const lab = (input) => el('label', {class: 'sf-field', for: input.id}, el('span', {class: 'sf-name'}, label || 'value', required ? '' : ' (optional)'), hint);
  if (main === 'object' && s.properties && !s.additionalProperties && !s.$ref) {
    const req = new Set(s.required || []);
    const kids = Object.entries(s.properties).map(([name, sub]) => [name, field(sub, id + '-' + name, name, req.has(name))]);
    const node = el('fieldset', {class: 'sf-object', id},
      label ? el('legend', {}, label) : '',
      kids.map(([, f]) => f.node),
      kids.length ? '' : el('span', {class: 'hint'}, 'No fields.'));
    return {node, value: () => {
      const out = {};
      for (const [name, f] of kids) {
        const v = f.value();
        if (v !== undefined) out[name] = v;
      }
      return out;
    }};
  }
  if (main === 'boolean') {
    const input = el('input', {type: 'checkbox', id});
    return {node: el('div', {class: 'sf-row'}, input, lab(input)), value: () => input.checked};
  }
  if ((main === 'string' && !s.contentEncoding) || main === 'integer' || main === 'number') {
    const attrs = {id, type: main === 'string' ? 'text' : 'number'};
    if (main === 'integer') attrs.step = '1';
    if (main === 'number') attrs.step = 'any';
    if (s.format === 'date-time') attrs.placeholder = 'RFC 3339, e.g. 2026-01-02T15:04:05Z';
    const input = el('input', attrs);
    return {node: el('div', {class: 'sf-row'}, lab(input), input), value: () => {
      if (input.value === '') return main === 'string' && required && !ts.includes('null') ? '' : undefined;
      if (main === 'string') return input.value;
      const n = Number(input.value);
      if (!Number.isFinite(n) || (main === 'integer' && !Number.isInteger(n))) throw new Error((label || 'value') + ' must be ' + (main === 'integer' ? 'an integer' : 'a number'));
      return n;
    }};
  }
  // Arrays, maps, bytes, references and any value: JSON.
  const area = el('textarea', {id, rows: 2, placeholder: (main || 'any') + ' as JSON'});
  return {node: el('div', {class: 'sf-row'}, lab(area), area), value: () => {
    if (!area.value.trim()) return undefined;
    try { return JSON.parse(area.value); } catch (e) { throw new Error((label || 'value') + ' is not valid JSON: ' + e.message); }
  }};
}
