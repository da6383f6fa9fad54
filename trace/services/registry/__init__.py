"""The parties and goods: organisations, facilities, products and batches (``catalogue``), their
conformity certificates (``certificates``, free text read by ``certificate_text``), the API tokens
issued to organisations (``tokens``) and the search-text folding they share."""
