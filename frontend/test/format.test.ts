import { describe, expect, it } from 'vitest';
import {
  ago,
  badgeSnippets,
  certExpiry,
  dateTime,
  day,
  duration,
  exportFileName,
  fieldKey,
  ms,
  parseDuration,
  pct,
  statusWord,
  uptimeLevel,
} from '../src/format';

describe('statusWord', () => {
  it('names every status in words', () => {
    expect(statusWord('up')).toBe('Up');
    expect(statusWord('down')).toBe('Down');
    expect(statusWord('pending')).toBe('Pending');
    expect(statusWord('paused')).toBe('Paused');
    expect(statusWord('degraded')).toBe('Degraded');
    expect(statusWord(undefined)).toBe('Unknown');
  });
});

describe('pct', () => {
  it('shows two decimals and a dash without data', () => {
    expect(pct(99.954)).toBe('99.95 %');
    expect(pct(50)).toBe('50.00 %');
    expect(pct(null)).toBe('—');
    expect(pct(Number.NaN)).toBe('—');
  });
  it('never rounds a failure up to 100 %', () => {
    expect(pct(99.999)).toBe('99.99 %');
    expect(pct(99.9999, 2)).toBe('99.99 %');
    expect(pct(100)).toBe('100 %');
  });
});

describe('ms', () => {
  it('picks a readable unit', () => {
    expect(ms(0.42)).toBe('0.42 ms');
    expect(ms(3.14)).toBe('3.1 ms');
    expect(ms(87.4)).toBe('87 ms');
    expect(ms(1240)).toBe('1.24 s');
    expect(ms(12_400)).toBe('12.4 s');
    expect(ms(null)).toBe('—');
  });
});

describe('duration and ago', () => {
  it('reads like a person would say it', () => {
    expect(duration(45_000)).toBe('45 s');
    expect(duration(3 * 60_000 + 5_000)).toBe('3 min 5 s');
    expect(duration(12 * 60_000 + 5_000)).toBe('12 min');
    expect(duration(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 5 min');
    expect(duration(2 * 3_600_000)).toBe('2 h');
    expect(duration(4 * 86_400_000 + 3 * 3_600_000)).toBe('4 d 3 h');
    expect(duration(-5)).toBe('0 s');
    expect(duration(undefined)).toBe('—');
  });
  it('is relative to now, both ways', () => {
    const now = 1_800_000_000_000;
    expect(ago(now - 500, now)).toBe('just now');
    expect(ago(now - 12_000, now)).toBe('12 s ago');
    expect(ago(now + 5 * 86_400_000, now)).toBe('in 5 d');
    expect(ago(null, now)).toBe('never');
  });
});

describe('dates', () => {
  it('formats local date-times sortably', () => {
    const d = new Date(2026, 10, 25, 9, 3, 7).getTime();
    expect(dateTime(d)).toBe('2026-11-25 09:03:07');
    expect(dateTime(null)).toBe('—');
  });
  it('formats UTC days', () => {
    expect(day('2026-11-25')).toBe('25 Nov 2026');
    expect(day('garbage')).toBe('garbage');
  });
  it('names export files by UTC day', () => {
    expect(exportFileName('api', Date.UTC(2026, 0, 2, 23))).toBe('api-20260102.csv');
  });
});

describe('certExpiry', () => {
  const now = 1_800_000_000_000;
  it('grades what is left', () => {
    expect(certExpiry(now + 60 * 86_400_000, now)).toEqual({ text: 'expires in 60 d', level: 'ok' });
    expect(certExpiry(now + 10 * 86_400_000, now).level).toBe('warn');
    expect(certExpiry(now + 2 * 86_400_000, now).level).toBe('bad');
    expect(certExpiry(now - 3_600_000, now)).toEqual({ text: 'expired 1 h ago', level: 'bad' });
    expect(certExpiry(null, now).level).toBe('none');
  });
});

describe('uptimeLevel', () => {
  it('matches the status page legend', () => {
    expect(uptimeLevel(100)).toBe('ok');
    expect(uptimeLevel(99.9)).toBe('ok');
    expect(uptimeLevel(99.5)).toBe('warn');
    expect(uptimeLevel(80)).toBe('bad');
    expect(uptimeLevel(null)).toBe('none');
  });
});

describe('parseDuration', () => {
  it('reads the API duration syntax', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90')).toBe(90_000);
  });
  it('refuses anything else', () => {
    expect(parseDuration('')).toBeNull();
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('5 minutes')).toBeNull();
    expect(parseDuration('5m later')).toBeNull();
  });
});

describe('fieldKey', () => {
  it('normalises API field names', () => {
    expect(fieldKey('conditions[1]')).toBe('conditions.1');
    expect(fieldKey('failure-threshold')).toBe('failure_threshold');
  });
});

describe('badgeSnippets', () => {
  it('builds Markdown and HTML that link to the status page', () => {
    const s = badgeSnippets('https://status.example.com', 'api', 'uptime', '30d', 'API [prod]');
    expect(s.img).toBe('https://status.example.com/api/public/monitors/api/badge.svg?kind=uptime&period=30d');
    expect(s.markdown).toBe(
      '[![API \\[prod\\] uptime 30d](https://status.example.com/api/public/monitors/api/badge.svg?kind=uptime&period=30d)](https://status.example.com/status/api)',
    );
    expect(s.html).toBe(
      '<a href="https://status.example.com/status/api"><img src="https://status.example.com/api/public/monitors/api/badge.svg?kind=uptime&amp;period=30d" alt="API [prod] uptime 30d"></a>',
    );
  });
  it('leaves the status badge without a query', () => {
    const s = badgeSnippets('http://h', 'web', 'status', '24h', '<b>"x"</b>');
    expect(s.img).toBe('http://h/api/public/monitors/web/badge.svg');
    expect(s.html).toContain('alt="&lt;b>&quot;x&quot;&lt;/b> status"');
  });
});

describe('ms at zero', () => {
  it('is a plain zero', () => {
    expect(ms(0)).toBe('0 ms');
  });
});
