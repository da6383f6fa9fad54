"""The parties and goods: organisations, facilities, products and batches (``catalogue``), the
API tokens issued to organisations (``tokens``) and the search-text folding they share."""
