import { describe, expect, it } from 'vitest';
import { colorWanted, formatPortMapping, table } from '../src/output.js';

describe('output helpers', () => {
  it('writes Service ports as kubectl users read them', () => {
    expect(formatPortMapping(80, 'TCP', 8080)).toBe('80/TCP→8080');
    expect(formatPortMapping(53, 'UDP', 'dns')).toBe('53/UDP→dns');
    expect(formatPortMapping(443, undefined, 443)).toBe('443/TCP');
    expect(formatPortMapping(9153, 'TCP', undefined)).toBe('9153/TCP');
  });

  it('lays out kubectl-style columns: no borders, two spaces apart, no trailing spaces, multi-line cells aligned', () => {
    const text = table(['NAME', 'PORTS'], [['web', '80/TCP\n443/TCP'], ['a-longer-name', '53/UDP']]);
    expect(text.split('\n')).toEqual(['NAME           PORTS', 'web            80/TCP', '               443/TCP', 'a-longer-name  53/UDP']);
  });
});

describe('colour', () => {
  it('colours only a terminal, whatever CI says, and honours NO_COLOR and FORCE_COLOR', () => {
    expect(colorWanted({ CI: 'true' }, false)).toBe(false);
    expect(colorWanted({ CI: 'true', TERM: 'xterm' }, true)).toBe(true);
    expect(colorWanted({ TERM: 'dumb' }, true)).toBe(false);
    expect(colorWanted({ NO_COLOR: '1' }, true)).toBe(false);
    expect(colorWanted({ FORCE_COLOR: '1' }, false)).toBe(true);
    expect(colorWanted({ FORCE_COLOR: '0' }, true)).toBe(false);
  });
});
