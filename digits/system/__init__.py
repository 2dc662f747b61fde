"""The ground floor: errors, threads of the matrix library, memory, atomic files."""
