//! Splitting a batch by an API's count and byte limits.

/// Splits `sizes` (indices into the caller's list) into runs of at most `max_count`
/// entries totalling at most `max_bytes`. Entries larger than `max_bytes` on their own
/// go to the second list: no batch can carry them.
pub(crate) fn chunks(
    sizes: &[(usize, usize)],
    max_count: usize,
    max_bytes: usize,
) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut batches = Vec::new();
    let mut oversize = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut current_bytes = 0;
    for &(index, size) in sizes {
        if size > max_bytes {
            oversize.push(index);
            continue;
        }
        if current.len() == max_count || current_bytes + size > max_bytes {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(index);
        current_bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    (batches, oversize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_count_and_by_bytes_and_sets_oversize_apart() {
        let sizes: Vec<(usize, usize)> = (0..25).map(|i| (i, 1)).collect();
        let (batches, oversize) = chunks(&sizes, 10, 100);
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        assert!(oversize.is_empty());

        let sizes = [(0, 60), (1, 50), (2, 101), (3, 40), (4, 10)];
        let (batches, oversize) = chunks(&sizes, 10, 100);
        assert_eq!(batches, vec![vec![0], vec![1, 3, 4]]);
        assert_eq!(oversize, vec![2]);
        assert_eq!(chunks(&[], 10, 100), (Vec::<Vec<usize>>::new(), Vec::new()));
    }
}
