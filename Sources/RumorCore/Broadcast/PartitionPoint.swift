extension Array {
    /// The first index whose element does not satisfy `isBefore`, in an array where every element that does
    /// comes first (a sorted array and "is below the key"): binary search.
    func partitionPoint(_ isBefore: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if isBefore(self[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
