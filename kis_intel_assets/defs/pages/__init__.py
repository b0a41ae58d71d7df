"""The dashboard pages (`kis-intel serve`) in the asset graph, so lineage shows who reads what."""
