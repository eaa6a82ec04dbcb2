// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Voucher (test only)
/// @notice A contract of a developer's own, outside the suite: a claim that lapses after a deadline.
///         The plugin's tests use it to show `assert_reverts` agrees with a real transaction at the
///         deadline's edge and decodes its error when it bubbles through another contract.
contract Voucher {
    /// @notice The claim came after `deadline` (block time `timestamp`).
    error VoucherExpired(uint256 deadline, uint256 timestamp);

    /// @notice Emitted on each claim.
    event Claimed(address indexed by, uint256 claims);

    uint256 public immutable deadline;
    uint256 public claims;

    constructor(uint256 deadline_) {
        deadline = deadline_;
    }

    /// @notice Claims once; reverts with `VoucherExpired` after the deadline.
    function claim() external {
        if (block.timestamp > deadline) revert VoucherExpired(deadline, block.timestamp);
        claims += 1;
        emit Claimed(msg.sender, claims);
    }
}

/// @title VoucherDesk (test only)
/// @notice Claims a voucher on the caller's behalf. It declares none of Voucher's errors, so a
///         Voucher revert reaches its caller as data only the Voucher's ABI can name.
contract VoucherDesk {
    /// @notice Claims `voucher`; its revert bubbles up unchanged.
    function claimFor(Voucher voucher) external {
        voucher.claim();
    }
}
