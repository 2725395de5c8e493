// Chinese words in mdBook's search.
//
// mdBook (0.5.4) builds its search index with elasticlunr's English pipeline,
// whose trimmer drops every token that is not ASCII letters or digits, and it
// splits words only at spaces: no Chinese word is in the index, whatever the
// book's `language`. The index still stores each section's text (for the
// result teasers), so a query holding Chinese characters is answered here by
// looking for each of its space-separated terms in that text. Any other query
// goes to elasticlunr unchanged. Loaded by both books' `additional-js`.
(function () {
    'use strict';
    if (typeof elasticlunr === 'undefined') {
        return;
    }
    const han = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
    const indexSearch = elasticlunr.Index.prototype.search;
    function count(text, term) {
        return text.split(term).length - 1;
    }
    elasticlunr.Index.prototype.search = function (query, config) {
        if (typeof query !== 'string' || !han.test(query)) {
            return indexSearch.call(this, query, config);
        }
        const terms = query.toLowerCase().split(/\s+/).filter(function (t) {
            return t.length > 0;
        });
        const docs = this.documentStore.docs;
        const results = [];
        Object.keys(docs).forEach(function (ref) {
            const doc = docs[ref];
            const title = String(doc.title || '').toLowerCase();
            const text = (String(doc.breadcrumbs || '') + ' ' + String(doc.body || '')).toLowerCase();
            let score = 0;
            for (const term of terms) {
                // As mdBook's own search: a title hit counts double.
                const hits = count(text, term) + 2 * count(title, term);
                if (hits === 0) {
                    return;
                }
                score += hits;
            }
            results.push({ ref: ref, score: score, doc: doc });
        });
        results.sort(function (a, b) {
            return b.score - a.score;
        });
        return results;
    };
})();
