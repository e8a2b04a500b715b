/**
 * "Did you mean" for names an operator typed: the closest candidate within a small edit distance
 * (insertions, deletions, substitutions and swapped neighbours, so `mial` finds `mail`), or one that
 * differs only in case and `_`/`-` (`connect_timeout_ms` finds `connectTimeoutMs`).
 */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  const folded = fold(input);
  const limit = input.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (fold(c) === folded) return c;
    const d = editDistance(input.toLowerCase(), c.toLowerCase());
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function fold(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one substring). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return Infinity;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[i].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}
