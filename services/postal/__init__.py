"""Postal (bưu chính công ích): pickup of paper dossiers, return of results, loss and compensation."""
