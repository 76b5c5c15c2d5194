import { VERDICT_STYLES } from './verdict-style.ts';

const verdictRules = Object.entries(VERDICT_STYLES)
  .map(
    ([verdict, style]) =>
      `.v-${verdict}{background-color:${style.color};background-image:${style.pattern};background-size:${verdict === 'skipped' ? '6px 6px' : 'auto'}}`,
  )
  .join('\n');

/** The report's style sheet. Colours print exactly (print-color-adjust) and every meaning also has a word and a pattern. */
export const REPORT_CSS = `
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#111;background:#fff;-webkit-print-color-adjust:exact;print-color-adjust:exact}
header{padding:12px 20px;border-bottom:2px solid #333}
h1{font-size:20px;margin:0 0 4px} h2{font-size:18px;border-bottom:1px solid #999;margin-top:24px} h3{font-size:16px;margin:0 0 6px} h4{font-size:14px;margin:12px 0 4px} h5{margin:0 0 4px;font-size:13px}
main{padding:0 20px 40px}
.muted{color:#555}
${verdictRules}
.swatch,.badge{display:inline-block;padding:2px 8px;border:1px solid #333;border-radius:3px;font-weight:600}
table{border-collapse:collapse}
.matrix th,.matrix td{border:1px solid #333;padding:4px 6px;vertical-align:top}
.matrix thead th{font-size:12px;max-width:120px;word-break:break-word}
.matrix td.cell a{color:#111;text-decoration:none;display:block}
.matrix .lbl{font-weight:700;background:rgba(255,255,255,0.85);display:inline-block;padding:0 3px}
.matrix .eo,.matrix .n{font-size:11px;background:rgba(255,255,255,0.85);display:inline-block;padding:0 3px}
.change{display:inline-block;margin:2px 0;padding:0 4px;font-size:11px;font-weight:700;border:2px solid #000;background:#fff}
.c-regression{border-style:solid}.c-improvement{border-style:dashed}.c-change{border-style:dotted}
.entry{border:1px solid #999;border-left:8px solid #333;padding:10px 14px;margin:14px 0;page-break-inside:avoid}
.entry[data-verdict=fail]{border-left-style:double}.entry[data-verdict=infra-error]{border-left-style:dashed}.entry[data-verdict=skipped]{border-left-style:dotted}
.two{display:flex;gap:24px;flex-wrap:wrap}.two>div{flex:1 1 340px}
.kv th{text-align:left;font-weight:500;padding:1px 10px 1px 0;color:#333}.kv td{padding:1px 0}
.grid th,.grid td{border:1px solid #999;padding:2px 6px}
.num{text-align:right;padding-right:8px}.barcell{width:200px}.bar{display:inline-block;height:10px;background:#555}
.chartbox{position:relative;height:260px;max-width:900px}
.side{display:flex;gap:8px}.side .col{flex:1;min-width:0}
pre{font:11px/1.3 ui-monospace,Menlo,Consolas,monospace;background:#f6f6f6;border:1px solid #ccc;padding:4px;overflow:auto;max-height:320px;margin:0}
pre .ev{background:#ffe08a;font-weight:700;outline:1px solid #000}
pre .ev::before{content:"▶"}
.reason{font-weight:500}.fix{font-style:italic}.warn{font-weight:600}
figure{margin:6px 0}figure img{display:block;max-width:640px;border:1px solid #333;margin-top:4px;image-rendering:pixelated}
@media print{.chartbox{height:220px}pre{max-height:none}}
`;
