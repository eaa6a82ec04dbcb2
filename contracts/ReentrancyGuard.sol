// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ReentrancyGuard
/// @notice Refuses a call back into any `nonReentrant` function while one is running.
/// @dev The lock lives in transient storage (EIP-1153), so it costs no lasting storage write and
///      clears itself at the end of the transaction. Pattern after OpenZeppelin's
///      ReentrancyGuardTransient; the code is this project's.
abstract contract ReentrancyGuard {
    bool private transient _entered;

    error ReentrantCall();

    modifier nonReentrant() {
        if (_entered) revert ReentrantCall();
        _entered = true;
        _;
        _entered = false;
    }
}
